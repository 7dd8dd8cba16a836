"""Admin of the exception tickets: read-only, scoped to the user's sites; the actions call
:func:`exceptions.services.transition_exception`."""

from __future__ import annotations

import json

from django.contrib import admin
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from mes.admin.base import SITE_FILTER, DomainRecordAdmin, ReadOnlyInline, apply_to_each, ask_reason

from .. import services
from ..models import Attachment, Decision, ExceptionEvent, ExceptionTicket


def _pretty_json(value) -> str:
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, cls=DjangoJSONEncoder)
    return format_html("<pre>{}</pre>", text)


class ExceptionEventInline(ReadOnlyInline):
    """The timeline, in order."""

    model = ExceptionEvent
    fields = ("created_at", "kind", "actor", "rule", "message", "details")
    readonly_fields = ("details",)
    ordering = ("created_at", "pk")
    show_change_link = False
    verbose_name_plural = _("timeline")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor", "rule")

    @admin.display(description=_("details"))
    def details(self, obj):
        return _pretty_json(obj.data) if obj.data else ""


class DecisionInline(ReadOnlyInline):
    model = Decision
    fields = ("decided_at", "decided_by", "decision", "reasoning")
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("decided_by")


class AttachmentInline(ReadOnlyInline):
    model = Attachment
    fields = ("file", "content_type", "size", "uploaded_by", "uploaded_at")
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("uploaded_by")


def _number(ticket) -> str:
    return ticket.number


@admin.register(ExceptionTicket)
class ExceptionTicketAdmin(DomainRecordAdmin):
    """Tickets as the services left them; the admin never edits one."""

    service_actions = True
    list_display = (
        "number",
        "site",
        "type",
        "severity",
        "status",
        "queue",
        "assignee",
        "work_order",
        "raised_at",
    )
    list_filter = (
        ("site", SITE_FILTER),
        "status",
        "phase",
        "type__category",
        "type",
        "severity",
        "raised_via",
        ("queue", admin.RelatedOnlyFieldListFilter),
    )
    list_select_related = ("site", "type", "queue", "assignee", "work_order")
    search_fields = ("number", "description", "work_order__erp_number")
    ordering = ("-raised_at", "-pk")
    date_hierarchy = "raised_at"
    fieldsets = (
        (None, {"fields": ("number", "site", "type", "workflow", "severity", "status", "phase")}),
        (
            _("Context"),
            {"fields": ("work_center", "machine", "work_order", "operation", "lot")},
        ),
        (
            _("Routing"),
            {"fields": ("queue", "assignee", "holds_work_order", "post_to_erp")},
        ),
        (
            _("Raised"),
            {"fields": ("raised_by", "raised_via", "description", "data_pretty", "refs_pretty")},
        ),
        (
            _("Times"),
            {
                "fields": (
                    "raised_at",
                    "acknowledged_at",
                    "resolved_at",
                    "closed_at",
                    "updated_at",
                    "version",
                )
            },
        ),
    )
    readonly_fields = ("data_pretty", "refs_pretty", "updated_at")
    inlines = (ExceptionEventInline, DecisionInline, AttachmentInline)
    actions = ("acknowledge", "cancel")

    @admin.display(description=_("form data"))
    def data_pretty(self, obj):
        return _pretty_json(obj.data)

    @admin.display(description=_("ERP references"))
    def refs_pretty(self, obj):
        return _pretty_json(obj.external_refs) if obj.external_refs else "-"

    def _transition(self, request, queryset, *, to: str, reason: str, done) -> None:
        """Move each selected ticket through the workflow service; a refusal is reported per
        ticket and never stops the others."""
        apply_to_each(
            self,
            request,
            queryset.select_related("site"),
            services.transition_exception,
            done,
            name=_number,
            to=to,
            reason=reason,
        )

    @admin.action(description=_("Acknowledge selected exceptions"), permissions=["change"])
    def acknowledge(self, request, queryset):
        self._transition(
            request,
            queryset,
            to="acknowledged",
            reason="",
            done=lambda n: ngettext(
                "%(count)d exception acknowledged.", "%(count)d exceptions acknowledged.", n
            ),
        )

    @admin.action(description=_("Cancel selected exceptions…"), permissions=["change"])
    def cancel(self, request, queryset):
        return ask_reason(
            self,
            request,
            queryset.select_related("site", "type"),
            action="cancel",
            title=gettext("Cancel exceptions"),
            note=gettext(
                "The reason is recorded in the history of each exception below and on its timeline."
            ),
            then=lambda reason: self._transition(
                request,
                queryset,
                to="cancelled",
                reason=reason,
                done=lambda n: ngettext(
                    "%(count)d exception cancelled.", "%(count)d exceptions cancelled.", n
                ),
            ),
        )
