"""Filters of the exceptions API's ticket list (``?status=``, ``?sla=``, ``?due_within=`` ...)."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext as _

from mes.errors import InvalidInput

from ..choices import Category, Severity
from ..models import ExceptionTicket, WorkflowState


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _check_choices(name: str, wanted: list[str], allowed: list[str]) -> None:
    unknown = set(wanted) - set(allowed)
    if unknown:
        raise InvalidInput(
            _("Unknown %(name)s: %(v)s.") % {"name": name, "v": ", ".join(sorted(unknown))},
            code="invalid_filter",
            fields={name: [_("Choose from %(c)s.") % {"c": ", ".join(allowed)}]},
        )


class ExceptionFilter(django_filters.FilterSet):
    site = django_filters.CharFilter(field_name="site__code", help_text="Site code.")
    status = django_filters.CharFilter(
        method="filter_status", help_text="One workflow state code or several, comma-separated."
    )
    phase = django_filters.CharFilter(
        method="filter_phase",
        help_text="One phase or several, comma-separated: " + ", ".join(WorkflowState.Phase.values),
    )
    type = django_filters.CharFilter(field_name="type__code", help_text="Exception type code.")
    category = django_filters.ChoiceFilter(field_name="type__category", choices=Category.choices)
    severity = django_filters.CharFilter(
        method="filter_severity",
        help_text="One severity or several, comma-separated: " + ", ".join(Severity.values),
    )
    assignee = django_filters.CharFilter(field_name="assignee__username", help_text="Username.")
    mine = django_filters.BooleanFilter(method="filter_mine", help_text="Assigned to me.")
    queue = django_filters.CharFilter(
        method="filter_queue", help_text="A role name, or `mine` for the queues of my roles."
    )
    open = django_filters.BooleanFilter(
        method="filter_open", help_text="Not closed or cancelled (true), or only those (false)."
    )
    raised_after = django_filters.IsoDateTimeFilter(field_name="raised_at", lookup_expr="gte")
    raised_before = django_filters.IsoDateTimeFilter(field_name="raised_at", lookup_expr="lt")
    sla = django_filters.ChoiceFilter(
        method="filter_sla",
        choices=[("breached", "breached"), ("ok", "ok")],
        help_text="breached: past its acknowledge or resolve due time (and not paused).",
    )
    due_within = django_filters.NumberFilter(
        method="filter_due_within",
        min_value=0,
        max_value=60 * 24 * 366,  # a year of minutes
        help_text="Minutes: not breached yet, but acknowledge or resolve is due within them.",
    )

    class Meta:
        model = ExceptionTicket
        fields = [
            "site",
            "status",
            "phase",
            "type",
            "category",
            "severity",
            "assignee",
            "mine",
            "queue",
            "open",
            "raised_after",
            "raised_before",
            "sla",
            "due_within",
        ]

    def filter_sla(self, queryset, name, value):
        breached = ExceptionTicket.objects.sla_breached().values("pk")
        return (
            queryset.filter(pk__in=breached)
            if value == "breached"
            else queryset.exclude(pk__in=breached)
        )

    def filter_due_within(self, queryset, name, value):
        return queryset.filter(
            pk__in=ExceptionTicket.objects.sla_due_within(float(value)).values("pk")
        )

    def filter_status(self, queryset, name, value):
        return queryset.filter(status__in=_split(value))

    def filter_phase(self, queryset, name, value):
        wanted = _split(value)
        _check_choices("phase", wanted, WorkflowState.Phase.values)
        return queryset.filter(phase__in=wanted)

    def filter_severity(self, queryset, name, value):
        wanted = _split(value)
        _check_choices("severity", wanted, Severity.values)
        return queryset.filter(severity__in=wanted)

    def filter_mine(self, queryset, name, value):
        user = self.request.user
        return queryset.filter(assignee=user) if value else queryset.exclude(assignee=user)

    def filter_queue(self, queryset, name, value):
        if value == "mine":
            return queryset.filter(queue__in=self.request.user.groups.all())
        return queryset.filter(queue__name=value)

    def filter_open(self, queryset, name, value):
        if value:
            return queryset.open()
        return queryset.filter(
            phase__in=[WorkflowState.Phase.CLOSED, WorkflowState.Phase.CANCELLED]
        )
