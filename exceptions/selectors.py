"""Read queries behind the exception pages: always scoped by ``visible_to``, flat query counts."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from mes.models import Machine, Operation, Site, WorkCenter, WorkOrder

from .choices import EventKind, Severity
from .models import ExceptionEvent, ExceptionTicket, ExceptionType, WorkflowState
from .schema import field_label
from .schema import fields as schema_fields
from .workflow import table as workflow_table

LIST_RELATED = ("site", "type", "work_order", "work_center", "queue", "assignee")


@dataclass
class RaiseContext:
    """Where an exception is raised: the site and, optionally, what on it is affected."""

    site: Site
    work_order: WorkOrder | None = None
    operation: Operation | None = None
    work_center: WorkCenter | None = None
    machine: Machine | None = None

    def query(self) -> dict[str, int]:
        """The context as URL parameters (ids), carried from the type tiles to the form."""
        return {
            name: obj.pk
            for name in ("work_order", "operation", "work_center", "machine")
            if (obj := getattr(self, name)) is not None
        }


class ContextNotFound(LookupError):
    """A context id in the URL names nothing the user may see at this site."""


def raise_context(user, site: Site, params) -> RaiseContext:
    """Resolve ``work_order``/``operation``/``work_center``/``machine`` ids from ``params``,
    each within ``site`` and the user's scope; :class:`ContextNotFound` otherwise."""
    context = RaiseContext(site=site)
    lookups = {
        "work_order": WorkOrder.objects.visible_to(user).filter(site=site),
        "operation": Operation.objects.visible_to(user)
        .filter(work_order__site=site)
        .select_related("work_order", "work_center", "machine"),
        "work_center": WorkCenter.objects.visible_to(user).filter(site=site),
        "machine": Machine.objects.visible_to(user).filter(site=site),
    }
    for name, queryset in lookups.items():
        raw = params.get(name)
        if not raw:
            continue
        try:
            pk = int(raw)
        except (TypeError, ValueError) as exc:
            raise ContextNotFound(name) from exc
        obj = queryset.filter(pk=pk).first()
        if obj is None:
            raise ContextNotFound(name)
        setattr(context, name, obj)
    if context.operation is not None:
        op = context.operation
        if context.work_order is not None and op.work_order_id != context.work_order.pk:
            raise ContextNotFound("operation")
        context.work_order = context.work_order or op.work_order
        context.work_center = context.work_center or op.work_center
        context.machine = context.machine or op.machine
    if context.machine is not None and context.work_center is None:
        context.work_center = context.machine.work_center
    return context


def active_types() -> list[ExceptionType]:
    """The tiles of the raise page: active types in floor order."""
    return list(ExceptionType.objects.filter(is_active=True).order_by("sort_order", "name", "pk"))


def active_type(code: str) -> ExceptionType | None:
    return (
        ExceptionType.objects.filter(is_active=True, code=code).select_related("workflow").first()
    )


def ticket_for(user, pk: int) -> ExceptionTicket | None:
    return (
        ExceptionTicket.objects.visible_to(user)
        .select_related(*LIST_RELATED, "machine", "operation", "lot", "raised_by", "workflow")
        .filter(pk=pk)
        .first()
    )


def my_queue(user):
    """Open tickets in one of the user's role queues or assigned to the user, newest first."""
    mine = Q(assignee=user) | Q(queue__in=user.groups.all())
    return (
        ExceptionTicket.objects.visible_to(user)
        .open()
        .filter(mine)
        .select_related(*LIST_RELATED)
        .order_by("-raised_at", "-pk")
    )


def my_queue_count(user) -> int:
    return my_queue(user).count()


def site_tickets(user, site: Site, *, work_order: WorkOrder | None = None):
    """Open tickets of a site, newest first; of one work order: all of them, closed too."""
    tickets = ExceptionTicket.objects.visible_to(user).filter(site=site)
    if work_order is not None:
        tickets = tickets.filter(work_order=work_order)
    else:
        tickets = tickets.open()
    return tickets.select_related(*LIST_RELATED).order_by("-raised_at", "-pk")


def with_state_names(tickets) -> list[ExceptionTicket]:
    """The tickets as a list, each with ``state_name`` (one query for all their workflows)."""
    tickets = list(tickets)
    names = {
        (s.workflow_id, s.code): s.name
        for s in WorkflowState.objects.filter(workflow__in={t.workflow_id for t in tickets})
    }
    for t in tickets:
        t.state_name = names.get((t.workflow_id, t.status), t.status)
    return tickets


def timeline(ticket: ExceptionTicket) -> list[ExceptionEvent]:
    """The ticket's events in order; one that moved something (status, severity) carries
    ``change``: (from, to) as the page names them (state names, severity labels)."""
    events = list(ticket.events.select_related("actor", "rule").order_by("created_at", "pk"))
    states = {code: state.name for code, state in workflow_table(ticket.workflow_id).states.items()}
    severities = dict(Severity.choices)
    for event in events:
        data = event.data if isinstance(event.data, dict) else {}
        if "from" in data and "to" in data:
            names = (
                states
                if event.kind in (EventKind.STATUS_CHANGED, EventKind.ACKNOWLEDGED)
                else severities
            )
            event.change = tuple(str(names.get(data[k], data[k] or "—")) for k in ("from", "to"))
    return events


def decisions(ticket: ExceptionTicket) -> list:
    return list(ticket.decisions.select_related("decided_by").order_by("decided_at", "pk"))


def form_rows(ticket: ExceptionTicket) -> list[tuple[str, object]]:
    """The ticket's form data as (label, value) in schema order; unknown keys last."""
    data = ticket.data or {}
    rows, seen = [], set()
    for name, spec, _ftype, _required in schema_fields(ticket.type.form_schema):
        if name in data:
            rows.append((field_label(name, spec), data[name]))
            seen.add(name)
    rows.extend((name, value) for name, value in data.items() if name not in seen)
    # 250.0 from a number field reads as 250 on the floor
    return [
        (label, int(value) if isinstance(value, float) and value.is_integer() else value)
        for label, value in rows
    ]


def type_by_code(code) -> ExceptionType | None:
    """An exception type with its workflow, kept with the configuration (shared: read-only);
    every signed-in user sees every type."""
    from mes import config_cache

    types = config_cache.cached(
        "types_by_code",
        lambda: {t.code: t for t in ExceptionType.objects.select_related("workflow")},
    )
    return types.get(str(code))
