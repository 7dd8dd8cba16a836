"""Admin of the transactional outbox: events and their deliveries, read-only."""

from __future__ import annotations

import json

from django.contrib import admin
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from mes.models import (
    OutboxDelivery,
    OutboxEvent,
)

from .base import (
    SITE_FILTER,
    ReadOnlyInline,
    ScopedAdminMixin,
)

# --- outbox: read-only ---------------------------------------------------------------------


class DeliveredFilter(admin.SimpleListFilter):
    title = _("delivered")
    parameter_name = "delivered"

    def lookups(self, request, model_admin):
        return (("yes", _("Yes")), ("no", _("No")))

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(delivered_at__isnull=self.value() == "no")
        return queryset


class OutboxDeliveryInline(ReadOnlyInline):
    model = OutboxDelivery
    fields = ("subscriber", "delivered_at")
    show_change_link = False

    def has_view_permission(self, request, obj=None):
        # Deliveries are part of the event: whoever may read the event reads them.
        return request.user.has_perm("mes.view_outboxevent")


@admin.register(OutboxEvent)
class OutboxEventAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Events as written with their changes, and which subscribers handled them."""

    list_display = (
        "occurred_at",
        "type",
        "site",
        "aggregate_type",
        "aggregate_id",
        "actor",
        "delivered",
        "attempts",
    )
    list_filter = ("type", DeliveredFilter, ("site", SITE_FILTER), "aggregate_type")
    list_select_related = ("site", "actor")
    search_fields = ("type", "aggregate_id", "reason", "request_id")
    ordering = ("-occurred_at", "-pk")
    fields = (
        "event_id",
        "type",
        "site",
        ("aggregate_type", "aggregate_id"),
        "actor",
        "reason",
        "request_id",
        "occurred_at",
        ("delivered_at", "attempts"),
        "last_error",
        "payload_pretty",
    )
    readonly_fields = ("payload_pretty",)
    inlines = (OutboxDeliveryInline,)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("delivered"), boolean=True)
    def delivered(self, obj):
        return obj.delivered_at is not None

    @admin.display(description=_("payload"))
    def payload_pretty(self, obj):
        text = json.dumps(obj.payload, indent=2, sort_keys=True, cls=DjangoJSONEncoder)
        return format_html("<pre>{}</pre>", text)
