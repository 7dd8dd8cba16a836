"""Admin of the clocks: SLA targets and escalation ladders (site calendars: mes admin)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from mes.admin.base import ConfigAdmin, ScopedInline, ticked
from mes.roles import ROLES

from .. import services
from ..choices import Severity
from ..models import (
    EscalationLevel,
    EscalationPolicy,
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
        fields = ["name", "order", "is_active", "types", "severities"]


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
    list_display = ["name", "order", "is_active"]
    list_editable = ["order", "is_active"]
    filter_horizontal = ["types"]
    inlines = [EscalationLevelInline]
