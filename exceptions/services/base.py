"""What every change of an exception ticket shares: the row lock with the If-Match check, the
timeline, the audited save that bumps the version, and the ticket's outbox event."""

from __future__ import annotations

from contextvars import ContextVar

from django.db import connection
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _

from mes.errors import DomainError, InvalidInput, PreconditionFailed  # noqa: F401 (re-exported)
from mes.models import Site
from mes.outbox import emit_event
from mes.services import save_with_history

from ..choices import Severity
from ..models import (
    Attachment,
    Decision,
    ExceptionEvent,
    ExceptionTicket,
    SiteCounter,
    WorkflowState,
)

Phase = WorkflowState.Phase
CHANGE_PERM = "exceptions.change_exceptionticket"


def lock_ticket(
    ticket: ExceptionTicket | int, expected_version: int | None = None
) -> ExceptionTicket:
    pk = ticket if isinstance(ticket, int) else ticket.pk
    locked = (
        ExceptionTicket.objects.select_for_update(of=("self",), no_key=True)
        .select_related("site", "type", "workflow", "work_order")
        .annotate(  # read under the lock: the answer skips what the ticket has none of
            has_decisions=Exists(Decision.objects.filter(exception=OuterRef("pk"))),
            has_attachments=Exists(Attachment.objects.filter(exception=OuterRef("pk"))),
        )
        .get(pk=pk)
    )
    if expected_version is not None and locked.version != expected_version:
        raise PreconditionFailed(
            _("Exception %(number)s was changed by someone else (version %(v)s); reload it.")
            % {"number": locked.number, "v": locked.version}
        )
    return locked


# The ticket the rule engine locked for one evaluation: the rule services work on it as it is
# (no second lock, no re-read), so every later rule sees what the earlier ones changed.
evaluating: ContextVar[ExceptionTicket | None] = ContextVar("andon_rules_ticket", default=None)


def lock_for_rule(ticket: ExceptionTicket) -> ExceptionTicket:
    """The locked ticket a rule's service changes: the evaluation's own, else locked now."""
    return ticket if ticket is evaluating.get() else lock_ticket(ticket)


def next_number(site: Site) -> str:
    """The site's next ticket number, in one statement: the counter row stays locked only
    from here to the commit, which follows at once."""
    table = connection.ops.quote_name(SiteCounter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (site_id, name, value) VALUES (%s, %s, 1) "  # noqa: S608
            f"ON CONFLICT (site_id, name) DO UPDATE SET value = {table}.value + 1 "
            "RETURNING value",
            [site.pk, "exception"],
        )
        (value,) = cursor.fetchone()
    return f"{site.code}-{value:06d}"


def add_to_timeline(
    ticket, kind: str, *, actor=None, rule=None, message: str = "", **data
) -> ExceptionEvent:
    return ExceptionEvent.objects.create(
        exception=ticket,
        kind=kind,
        actor=actor if actor is not None and actor.is_authenticated else None,
        rule=rule,
        message=message,
        data=data,
    )


def save_ticket(ticket: ExceptionTicket, *, actor, reason: str, fields: list[str]) -> None:
    ticket.version += 1
    save_with_history(ticket, actor=actor, reason=reason, fields=[*fields, "version", "updated_at"])


def ticket_payload(ticket: ExceptionTicket, **extra) -> dict:
    return {
        "exception_id": ticket.pk,
        "number": ticket.number,
        "site": ticket.site.code,
        "type": ticket.type.code,
        "category": ticket.type.category,
        "severity": ticket.severity,
        "status": ticket.status,
        "phase": ticket.phase,
        "work_order": ticket.work_order.erp_number if ticket.work_order_id else None,
        "queue": ticket.queue.name if ticket.queue_id else None,
        "assignee": ticket.assignee.username if ticket.assignee_id else None,
        **extra,
    }


def ticket_event(
    event_type: str, ticket: ExceptionTicket, *, actor, reason: str = "", **extra
) -> dict:
    """The arguments of a ticket's event, for ``emit_event`` or, in bulk, ``emit_events``."""
    return {
        "event_type": event_type,
        "aggregate": ticket,
        "site": ticket.site,
        "actor": actor,
        "reason": reason,
        "payload": ticket_payload(ticket, **extra),
    }


def emit_ticket_event(
    event_type: str, ticket: ExceptionTicket, *, actor, reason: str = "", **extra
):
    arguments = ticket_event(event_type, ticket, actor=actor, reason=reason, **extra)
    return emit_event(arguments.pop("event_type"), **arguments)


def check_same_site(site: Site, **objects) -> None:
    for field, obj in objects.items():
        if obj is not None and obj.site_id != site.pk:
            raise InvalidInput(
                _("The %(field)s belongs to another site.") % {"field": field},
                code="wrong_site",
                fields={field: [_("Of another site.")]},
            )


# How long the texts of a ticket may be (characters), on every path (API, pages, rules).
TEXT_LIMITS = {"description": 4000, "decision": 2000, "reasoning": 4000}
EXTERNAL_REFS_MAX_KEYS = 20
EXTERNAL_REF_MAX_CHARS = 200


def check_lengths(**texts: str | None) -> None:
    """400 ``too_long`` for a text over its limit in :data:`TEXT_LIMITS`."""
    too_long = {
        name: [_("At most %(n)s characters.") % {"n": TEXT_LIMITS[name]}]
        for name, text in texts.items()
        if text is not None and len(text) > TEXT_LIMITS[name]
    }
    if too_long:
        raise InvalidInput(
            _("Too long: %(fields)s.") % {"fields": ", ".join(too_long)},
            code="too_long",
            fields=too_long,
        )


def _scalar(value) -> bool:
    return isinstance(value, str | int | float | bool | None)


def check_external_refs(refs) -> dict:
    """References to other systems: at most 20, each a short name and a short text, number,
    true/false, null, or a list of up to 20 of those."""
    if refs is None:
        return {}
    problem = None
    if not isinstance(refs, dict):
        problem = _("An object of names and values.")
    elif len(refs) > EXTERNAL_REFS_MAX_KEYS:
        problem = _("At most %(n)s references.") % {"n": EXTERNAL_REFS_MAX_KEYS}
    else:
        for name, value in refs.items():
            items = value if isinstance(value, list) and len(value) <= 20 else [value]
            if len(str(name)) > 100 or not all(_scalar(item) for item in items):
                problem = _("Each reference is a name and a text, number, true/false or null.")
            elif any(isinstance(v, str) and len(v) > EXTERNAL_REF_MAX_CHARS for v in items):
                problem = _("A reference is at most %(n)s characters.") % {
                    "n": EXTERNAL_REF_MAX_CHARS
                }
            if problem:
                break
    if problem:
        raise InvalidInput(
            problem, code="invalid_external_refs", fields={"external_refs": [problem]}
        )
    return refs


def check_severity(severity: str) -> str:
    if severity not in Severity.values:
        raise InvalidInput(
            _("Unknown severity %(s)s.") % {"s": severity},
            code="invalid_severity",
            fields={"severity": [_("Choose low, medium, high or critical.")]},
        )
    return severity
