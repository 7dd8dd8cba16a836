"""Admin of the exception tickets: read-only, scoped to the user's sites; the actions call
:func:`exceptions.services.transition_exception`."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.serializers.json import DjangoJSONEncoder
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from mes.admin.base import SITE_FILTER, DomainRecordAdmin, ReadOnlyInline
from mes.errors import DomainError

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


class CancelReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=500,
        help_text=_("Recorded on the timeline and in the history of every selected exception."),
    )


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
        succeeded = 0
        for ticket in queryset.select_related("site"):
            try:
                services.transition_exception(ticket, actor=request.user, to=to, reason=reason)
            except DomainError as exc:
                self.message_user(
                    request,
                    gettext("%(number)s: %(error)s")
                    % {"number": ticket.number, "error": exc.detail},
                    messages.ERROR,
                )
            else:
                succeeded += 1
        if succeeded:
            self.message_user(request, done(succeeded) % {"count": succeeded}, messages.SUCCESS)

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
        form = CancelReasonForm(request.POST if "post" in request.POST else None)
        if form.is_bound and form.is_valid():
            self._transition(
                request,
                queryset,
                to="cancelled",
                reason=form.cleaned_data["reason"],
                done=lambda n: ngettext(
                    "%(count)d exception cancelled.", "%(count)d exceptions cancelled.", n
                ),
            )
            return None
        request.current_app = self.admin_site.name
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Cancel exceptions"),
            "form": form,
            "queryset": queryset.select_related("site", "type"),
            "action": "cancel",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "opts": self.model._meta,
            "media": self.media,
        }
        context["note"] = gettext(
            "The reason is recorded in the history of each exception below and on its timeline."
        )
        return TemplateResponse(request, "admin/action_reason.html", context)
