"""Admin of master data: sites (with object permissions), work centers, machines, items."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _
from guardian.admin import GuardedModelAdminMixin

from mes.access import can_access_site, grant_site_access, sees_every_site
from mes.choices import OperationStatus
from mes.models import (
    Item,
    Machine,
    Operation,
    Site,
    WorkCenter,
)

from .base import (
    SITE_FILTER,
    MasterDataAdmin,
    ScopedInline,
)


@admin.register(Site)
class SiteAdmin(GuardedModelAdminMixin, MasterDataAdmin):
    """Plants; the object-permissions page grants users and groups ``mes.access_site``."""

    list_display = ("code", "name", "timezone", "is_active")
    list_filter = ("is_active",)
    search_fields = ("code", "name")
    ordering = ("code",)

    def has_add_permission(self, request):
        # A new plant is the group's decision, not one plant's manager's.
        return sees_every_site(request.user) and super().has_add_permission(request)

    def obj_perms_manage_view(self, request, object_pk):
        # Site grants are given per account (the account admin, within what one holds);
        # the raw object-permission pages are for superusers.
        if not request.user.is_superuser:
            raise PermissionDenied
        return super().obj_perms_manage_view(request, object_pk)

    def obj_perms_manage_user_view(self, request, object_pk, user_id):
        if not request.user.is_superuser:
            raise PermissionDenied
        return super().obj_perms_manage_user_view(request, object_pk, user_id)

    def obj_perms_manage_group_view(self, request, object_pk, group_id):
        if not request.user.is_superuser:
            raise PermissionDenied
        return super().obj_perms_manage_group_view(request, object_pk, group_id)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change and not can_access_site(request.user, obj):
            # Whoever creates a plant manages it; without this it would vanish from their list.
            grant_site_access(request.user, obj)


class MachineInline(ScopedInline):
    model = Machine
    fields = ("code", "name", "ideal_cycle_seconds", "is_active")
    extra = 0
    can_delete = False


@admin.register(WorkCenter)
class WorkCenterAdmin(MasterDataAdmin):
    list_display = ("code", "name", "site", "kind", "is_active")
    list_filter = (("site", SITE_FILTER), "kind", "is_active")
    list_select_related = ("site",)
    search_fields = ("code", "name", "site__code")
    ordering = ("site__code", "code")
    fieldsets = (
        (None, {"fields": ("site", "code", "name", "kind", "is_active")}),
        (_("Dispatch queue"), {"fields": ("dispatch_queue",)}),
    )
    readonly_fields = ("dispatch_queue",)
    inlines = (MachineInline,)

    def get_readonly_fields(self, request, obj=None):
        # A work center never moves to another plant: its operations and history stay there.
        return (*super().get_readonly_fields(request, obj), *(("site",) if obj else ()))

    def prepare_inline_object(self, parent, obj) -> None:
        obj.site_id = parent.site_id

    @admin.display(description=_("queued operations, in dispatch order"))
    def dispatch_queue(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        operations = (
            Operation.objects.filter(
                work_center=obj, status=OperationStatus.QUEUED, dispatch_rank__isnull=False
            )
            .select_related("work_order__item")
            .order_by("dispatch_rank")
        )
        return render_to_string(
            "admin/mes/workcenter/dispatch_queue.html", {"operations": operations}
        )


@admin.register(Machine)
class MachineAdmin(MasterDataAdmin):
    list_display = ("code", "name", "site", "work_center", "ideal_cycle_seconds", "is_active")
    list_filter = (("site", SITE_FILTER), ("work_center", SITE_FILTER), "is_active")
    list_select_related = ("site", "work_center")
    search_fields = ("code", "name", "work_center__code", "site__code")
    ordering = ("site__code", "code")

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), *(("site",) if obj else ()))


@admin.register(Item)
class ItemAdmin(MasterDataAdmin):
    list_display = ("code", "name", "kind", "unit", "requires_certificate", "is_active")
    list_filter = ("kind", "unit", "requires_certificate", "is_active")
    search_fields = ("code", "name")
    ordering = ("code",)
