"""API permission: signed in, plus the role's model permission for the method or action."""

from rest_framework.permissions import DjangoModelPermissions


class RolePermission(DjangoModelPermissions):
    """Reads need the model's view permission; writes need add/change, or the permission the
    viewset names for an action in ``action_permissions``. Site scope is the queryset's job
    (``visible_to``) and the service's (``authorize``)."""

    perms_map = {
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": [],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "POST": ["%(app_label)s.add_%(model_name)s"],
        "PUT": ["%(app_label)s.change_%(model_name)s"],
        "PATCH": ["%(app_label)s.change_%(model_name)s"],
        "DELETE": ["%(app_label)s.delete_%(model_name)s"],
    }

    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated or not request.user.is_active:
            return False
        action_perms = getattr(view, "action_permissions", {})
        action = getattr(view, "action", None)
        if action is None and hasattr(view, "action_map"):
            return True  # a method the viewset does not offer: let the 405 answer speak

        if action in action_perms:
            return request.user.has_perms(action_perms[action])
        return super().has_permission(request, view)
