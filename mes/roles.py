"""Roles are Django groups; this table says which model permissions each role holds.

Site scope is separate: a role's permissions apply only at the sites the user was granted
(``mes.access.grant_site_access``). Each app grants its own permissions from its ``roles``
module (:func:`grant`); ``sync_roles`` is idempotent and runs after every ``migrate``.
"""

from __future__ import annotations

from mes.registry import Registry

ROLES = [
    "operator",
    "supervisor",
    "planner",
    "procurement",
    "quality",
    "maintenance",
    "customer_service",
    "manager",
    "auditor",
    "erp_integration",
]

_CORE_MODELS = [
    "site",
    "workcenter",
    "machine",
    "item",
    "workorder",
    "operation",
    "lot",
    "confirmation",
    "lotconsumption",
    "shipment",
    "shipmentline",
    "downtimereason",
    "downtime",
]
_CALENDARS = [
    f"mes.{a}_{m}" for m in ("workingcalendar", "nonworkingday") for a in ("add", "change", "view")
]
_VIEW_CORE = [f"mes.view_{m}" for m in _CORE_MODELS]
_ALL_CORE = [f"mes.{action}_{m}" for m in _CORE_MODELS for action in ("add", "change", "view")]


# Roles of machines, not people: an account holding only these is a service account. It
# works through the endpoints made for it (views with ``open_to_service_accounts``), never
# signs in with a password, and gets no other API unless it is given a person's role too.
SERVICE_ROLES = ("erp_integration",)


class RolePermissions(Registry):
    def describe(self, key: str) -> str:
        perms = permissions_of(key)
        by_app = {}
        for perm in perms:
            app = perm.split(".", 1)[0]
            by_app[app] = by_app.get(app, 0) + 1
        return f"{len(perms)} permissions: " + ", ".join(f"{a} {n}" for a, n in by_app.items())


role_permissions = RolePermissions(
    "role permissions",
    "Per role, the model permissions each app grants it (the role groups hold their union).",
    multiple=True,
)


def grant(role: str, permissions) -> None:
    """Give ``role`` these permissions (an app's ``roles`` module calls this)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    role_permissions.register(role, tuple(permissions))


def permissions_of(role: str) -> list[str]:
    return sorted({perm for granted in role_permissions.get(role, ()) for perm in granted})


_NOTIFICATIONS = ["mes.view_notification", "mes.change_notification"]
for _role, _perms in {
    "operator": [*_VIEW_CORE, "mes.change_operation", "mes.add_confirmation"],
    "supervisor": [
        *_VIEW_CORE,
        "mes.change_operation",
        "mes.add_confirmation",
        "mes.change_workorder",
        "mes.resequence_workcenter",
    ],
    "planner": [
        *_VIEW_CORE,
        "mes.change_workorder",
        "mes.change_operation",
        "mes.resequence_workcenter",
    ],
    "procurement": [*_VIEW_CORE, "mes.add_lot"],
    "quality": [*_VIEW_CORE, "mes.change_lot"],
    "maintenance": [*_VIEW_CORE, "mes.change_machine"],
    "customer_service": [*_VIEW_CORE, "mes.add_shipment"],
    "manager": [
        *_ALL_CORE,
        *_CALENDARS,
        "mes.resequence_workcenter",
        "mes.view_outboxevent",
        "mes.view_audit",  # the history of their sites' records
        "auth.view_user",
        "auth.change_user",
        "auth.add_user",
        "auth.view_group",
        # API tokens of the accounts a manager manages (mes.services.tokens)
        "mes.view_apitoken",
        "mes.add_apitoken",
        "mes.change_apitoken",
    ],
    # Auditors read every site and change nothing: the global site permission, no writes.
    "auditor": [
        *_VIEW_CORE,
        *[p for p in _CALENDARS if ".view_" in p],
        "mes.access_site",
        "mes.view_outboxevent",
        "mes.view_audit",
    ],
    "erp_integration": [
        *_VIEW_CORE,
        "mes.add_item",
        "mes.change_item",
        "mes.add_workcenter",
        "mes.change_workcenter",
        "mes.add_workorder",
        "mes.change_workorder",
        "mes.change_operation",
        "mes.add_lot",
        "mes.change_lot",
        "mes.add_shipment",
    ],
}.items():
    # Everyone reads and marks read their own notifications (the API scopes them to the user).
    grant(_role, [*_perms, *_NOTIFICATIONS])


def sync_roles(apps=None, schema_editor=None) -> None:
    """Create the role groups and give each exactly the permissions the apps grant it.

    Works with historical models inside a migration (``apps``) or the live registry.
    """
    from django.apps import apps as live_apps
    from django.contrib.auth.management import create_permissions

    registry = apps or live_apps
    for app_config in registry.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=registry)
    group_model = registry.get_model("auth", "Group")
    permission_model = registry.get_model("auth", "Permission")
    for role in ROLES:
        group, _ = group_model.objects.get_or_create(name=role)
        wanted = []
        for perm in permissions_of(role):
            app_label, codename = perm.split(".", 1)
            found = permission_model.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if found is not None:  # a permission of an app not migrated yet joins later
                wanted.append(found)
        group.permissions.set(wanted)
