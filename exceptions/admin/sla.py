"""Admin of the clocks: SLA targets and escalation ladders (site calendars: mes admin)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.template.loader import render_to_string
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mes.admin.base import ConfigAdmin, ScopedInline, ticked
from mes.roles import ROLES

from .. import services, sla
from ..choices import Severity
from ..models import (
    EscalationLevel,
    EscalationPolicy,
    ExceptionType,
    SlaPolicy,
)


@admin.register(SlaPolicy)
class SlaPolicyAdmin(ConfigAdmin):
    save_service = staticmethod(services.save_sla_policy)
    list_display = [
        "__str__",
        "type",
        "severity",
        "acknowledge_minutes",
        "resolve_minutes",
        "is_active",
    ]
    list_editable = ["acknowledge_minutes", "resolve_minutes", "is_active"]
    list_filter = ["severity", "is_active", "type"]
    list_select_related = ["type"]


class EscalationLevelForm(forms.ModelForm):
    """Roles ticked, not typed as JSON."""

    notify_roles = ticked(
        _("notify roles"), [(role, role) for role in ROLES], _("Told at the ticket's site.")
    )

    class Meta:
        model = EscalationLevel
        fields = ["level", "clock", "after_minutes", "notify_roles", "notify_users"]
        fields += ["raise_severity_to"]


class EscalationPolicyForm(forms.ModelForm):
    severities = ticked(_("severities"), Severity.choices, _("None ticked: every severity."))

    class Meta:
        model = EscalationPolicy
        fields = ["name", "order", "is_active", "types", "severities", "wins_over_specific"]


class EscalationLevelInline(ScopedInline):
    model = EscalationLevel
    form = EscalationLevelForm
    extra = 1
    filter_horizontal = ["notify_users"]
    fields = [
        "level",
        "clock",
        "after_minutes",
        "notify_roles",
        "notify_users",
        "raise_severity_to",
    ]


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(ConfigAdmin):
    """A ladder: after N working minutes without acknowledge/resolve, notify roles at the
    ticket's site or users, optionally raise the severity. Each level fires once per ticket."""

    save_service = staticmethod(services.save_escalation_policy)
    form = EscalationPolicyForm
    list_display = ["name", "order", "is_active", "covers"]
    list_editable = ["order", "is_active"]
    filter_horizontal = ["types"]
    inlines = [EscalationLevelInline]
    readonly_fields = ["overlap"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("types")

    @admin.display(description=_("covers"))
    def covers(self, obj):
        types = ", ".join(t.name for t in obj.types.all()) or gettext("every type")
        severities = ", ".join(map(str, obj.severities or [])) or gettext("every severity")
        return f"{types} · {severities}"

    @admin.display(description=_("where it meets other policies"))
    def overlap(self, obj):
        """Which policy a ticket gets where this one and others both match: said here, where
        the policies are defined, so a new ladder never silently loses to an older one."""
        if obj is None or obj.pk is None:
            return gettext("Save the policy to see where it meets the others.")
        types = list(ExceptionType.objects.filter(is_active=True).order_by("name"))
        found = sla.overlaps(obj, types)
        if not found["wins"] and not found["loses"]:
            return gettext("No other active policy matches the tickets this one matches.")
        return render_to_string(
            "admin/exceptions/escalationpolicy/overlap.html",
            {**found, "never": not sla.ever_applies(obj, types)},
        )
