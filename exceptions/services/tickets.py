"""Raising a ticket, moving it along its workflow, deciding, commenting, changing it and
attaching files.

Same contract as :mod:`mes.services`: atomic, row lock, permission and site check, one history
row per changed record (actor and reason), a timeline event for the business meaning, and an
OutboxEvent that the rule engine, notifications and ERP consume after commit. Writes that carry
``expected_version`` (the API's If-Match) are refused with 412 when it is stale.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mes.access import can_access_site
from mes.errors import DomainError, InvalidInput, NotPermitted, TransitionNotAllowed
from mes.models import Lot, Machine, Operation, Site, WorkCenter, WorkOrder
from mes.roles import ROLES
from mes.services import authorize, save_with_history

from .. import sla
from ..choices import SEVERITY_RANK, EventKind, RaisedVia
from ..models import (
    Decision,
    ExceptionTicket,
    ExceptionType,
)
from ..pickers import picker_errors
from ..schema import fields as schema_fields
from ..schema import validate_data
from ..workflow import current_state, may_resolve, role_allows, transitions_from
from ..workflow import table as workflow_table
from .base import (
    CHANGE_PERM,
    Phase,
    add_to_timeline,
    check_external_refs,
    check_lengths,
    check_same_site,
    check_severity,
    emit_ticket_event,
    lock_ticket,
    next_number,
    save_ticket,
)


def raise_exception(
    *,
    actor,
    exception_type: ExceptionType,
    site: Site,
    description: str = "",
    data: dict | None = None,
    severity: str | None = None,
    work_center: WorkCenter | None = None,
    machine: Machine | None = None,
    work_order: WorkOrder | None = None,
    operation: Operation | None = None,
    lot: Lot | None = None,
    raised_via: str = RaisedVia.FLOOR,
    external_refs: dict | None = None,
) -> ExceptionTicket:
    """Raise a ticket: the form data is validated against the type's schema, the context
    (work center, machine, order, operation, lot) must be of the same site."""
    authorize(actor, "exceptions.add_exceptionticket", site)
    check_lengths(description=description)
    external_refs = check_external_refs(external_refs)
    if not exception_type.is_active:
        raise InvalidInput(
            _("This exception type is not in use."),
            code="inactive_type",
            fields={"type": [_("Inactive type.")]},
        )
    data = {} if data is None else data
    errors = validate_data(exception_type.form_schema, data) or picker_errors(
        schema_fields(exception_type.form_schema), data, site
    )
    if errors:
        first = next(iter(errors))
        raise InvalidInput(
            _("%(field)s: %(error)s") % {"field": first, "error": errors[first][0]},
            code="invalid_form",
            fields={"data": errors},
        )
    if operation is not None:
        work_order = work_order or operation.work_order
        if operation.work_order_id != work_order.pk:
            raise InvalidInput(
                _("The operation is not of this work order."),
                code="invalid",
                fields={"operation": [_("Not of the work order.")]},
            )
        work_center = work_center or operation.work_center
    if machine is not None:
        if work_center is not None and machine.work_center_id != work_center.pk:
            raise InvalidInput(
                _("Machine %(m)s is not in work center %(wc)s.")
                % {"m": machine.code, "wc": work_center.code},
                code="machine_not_in_work_center",
                fields={"machine": [_("Not in this work center.")]},
            )
        work_center = work_center or machine.work_center
    check_same_site(site, work_center=work_center, machine=machine, work_order=work_order, lot=lot)
    severity = check_severity(severity or exception_type.default_severity)
    flow = workflow_table(exception_type.workflow_id)
    workflow, state = flow.workflow, flow.initial
    if state is None:
        raise DomainError(
            _("The workflow %(w)s has no initial state.") % {"w": workflow.code},
            code="workflow_broken",
        )
    with transaction.atomic():
        ticket = ExceptionTicket(
            site=site,
            type=exception_type,
            workflow=workflow,
            work_center=work_center,
            machine=machine,
            work_order=work_order,
            operation=operation,
            lot=lot,
            severity=severity,
            status=state.code,
            phase=state.phase,
            raised_by=actor if actor is not None and actor.is_authenticated else None,
            raised_via=raised_via,
            description=description or "",
            data=data,
            external_refs=external_refs or {},
        )
        sla.schedule(ticket, at_raise=True)
        ticket.number = next_number(site)  # last before the insert: the counter waits least
        save_with_history(ticket, actor=actor, reason="raised")
        raised = add_to_timeline(
            ticket,
            EventKind.RAISED,
            actor=actor,
            message=description[:200] if description else "",
            via=raised_via,
        )
        emit_ticket_event("exception.raised", ticket, actor=actor, data=data)
    ticket.raised_event = raised  # its whole timeline: the answer needs no second read
    return ticket


def transition_exception(
    ticket: ExceptionTicket,
    *,
    actor,
    to: str,
    reason: str = "",
    expected_version: int | None = None,
) -> ExceptionTicket:
    """Move a ticket along its workflow. 409 ``transition_not_allowed`` when the table has no
    such move, 403 when the actor's roles may not make it, 400 when a reason is missing."""
    authorize(actor, CHANGE_PERM, ticket.site_id)
    with transaction.atomic():
        locked = lock_ticket(ticket, expected_version)
        _apply_transition(locked, actor=actor, to=to, reason=(reason or "").strip())
    return locked


def _apply_transition(ticket: ExceptionTicket, *, actor, to: str, reason: str) -> None:
    state = current_state(ticket)
    candidates = [t for t in transitions_from(ticket, state) if t.to_state.code == to]
    if not candidates:
        raise TransitionNotAllowed(
            _("Exception %(number)s cannot go from %(src)s to %(dst)s.")
            % {"number": ticket.number, "src": ticket.status, "dst": to}
        )
    permitted = [t for t in candidates if role_allows(t, actor)]
    if not permitted:
        raise NotPermitted(
            _("Your role may not move this exception to %(dst)s.") % {"dst": to},
            code="role_not_allowed",
        )
    move = permitted[0]
    if move.reason_required and not reason:
        raise InvalidInput(
            _("A reason is required."),
            code="reason_required",
            fields={"reason": [_("This field is required.")]},
        )
    target = move.to_state
    if target.requires_decision and not ticket.decisions.exists():
        raise DomainError(
            _("Record a decision before moving the exception to %(dst)s.") % {"dst": target.name},
            code="decision_required",
        )
    previous, now = ticket.status, timezone.now()
    ticket.status, ticket.phase = target.code, target.phase
    fields = ["status", "phase"]
    if target.phase != Phase.OPEN and ticket.acknowledged_at is None:
        ticket.acknowledged_at = now
        fields.append("acknowledged_at")
    if target.phase == Phase.RESOLVED:
        ticket.resolved_at = now
        fields.append("resolved_at")
    elif target.phase in (Phase.OPEN, Phase.ACKNOWLEDGED, Phase.ACTIVE) and ticket.resolved_at:
        ticket.resolved_at = None  # reopened
        fields.append("resolved_at")
    if target.is_terminal:
        ticket.closed_at = now
        fields.append("closed_at")
    fields += sla.track_pause(ticket, target, now)
    fields += sla.schedule(ticket)
    save_ticket(ticket, actor=actor, reason=reason or f"{previous} -> {target.code}", fields=fields)
    kind = (
        EventKind.ACKNOWLEDGED if target.phase == Phase.ACKNOWLEDGED else EventKind.STATUS_CHANGED
    )
    add_to_timeline(
        ticket, kind, actor=actor, message=reason, **{"from": previous, "to": target.code}
    )
    emit_ticket_event(
        "exception.status_changed", ticket, actor=actor, reason=reason, previous_status=previous
    )
    if target.phase == Phase.RESOLVED:
        decision = ticket.decisions.order_by("-decided_at", "-pk").first()
        emit_ticket_event(
            "exception.resolved",
            ticket,
            actor=actor,
            reason=reason,
            previous_status=previous,
            decision=decision.decision if decision else "",
            reasoning=decision.reasoning if decision else "",
            external_refs=ticket.external_refs or {},
            post_to_erp=ticket.post_to_erp,
        )


def record_decision(
    ticket: ExceptionTicket,
    *,
    actor,
    decision: str,
    reasoning: str = "",
    resolve_to: str | None = None,
    expected_version: int | None = None,
) -> Decision:
    """Record what was decided and why; with ``resolve_to`` also move the ticket (typically to
    ``resolved``) in the same transaction, so a decision and its resolution never part."""
    authorize(actor, CHANGE_PERM, ticket.site_id)
    check_lengths(decision=decision, reasoning=reasoning)
    if not may_resolve(ticket, actor):
        raise NotPermitted(
            _("Only a role that may resolve this exception records its decision."),
            code="role_not_allowed",
        )
    decision = (decision or "").strip()
    if not decision:
        raise InvalidInput(
            _("Say what was decided."),
            code="decision_missing",
            fields={"decision": [_("This field is required.")]},
        )
    with transaction.atomic():
        locked = lock_ticket(ticket, expected_version)
        if locked.phase in (Phase.CLOSED, Phase.CANCELLED):
            raise TransitionNotAllowed(
                _("Exception %(number)s is closed.") % {"number": locked.number}
            )
        record = Decision(
            exception=locked,
            decision=decision,
            reasoning=(reasoning or "").strip(),
            decided_by=actor if actor is not None and actor.is_authenticated else None,
        )
        save_with_history(record, actor=actor, reason="decision")
        add_to_timeline(
            locked,
            EventKind.DECISION,
            actor=actor,
            message=decision,
            reasoning=record.reasoning,
            decision_id=record.pk,
        )
        save_ticket(locked, actor=actor, reason="decision recorded", fields=[])
        emit_ticket_event(
            "exception.decision", locked, actor=actor, decision=decision, reasoning=record.reasoning
        )
        if resolve_to:
            _apply_transition(locked, actor=actor, to=resolve_to, reason=decision)
    ticket.refresh_from_db()
    return record


def can_take(user, ticket: ExceptionTicket) -> bool:
    """May ``user`` be assigned ``ticket``: active, at its site, and able to act on it."""
    return bool(
        user.is_active and can_access_site(user, ticket.site_id) and user.has_perm(CHANGE_PERM)
    )


def not_assignable(username: str, ticket: ExceptionTicket) -> str:
    """One message whether the account exists or not (no username enumeration)."""
    return _("No user %(user)s can take exceptions at %(site)s.") % {
        "user": username,
        "site": ticket.site.code,
    }


TRIAGE_PERM = "exceptions.triage_exceptionticket"


def check_triage(ticket: ExceptionTicket, changes: dict, actor) -> None:
    """Lowering the severity, moving the ticket to another role's queue and assigning it to
    someone else are triage (supervisors, managers, ...: ``triage_exceptionticket``). Anyone
    who works on the ticket may raise its severity and take it themselves."""
    if actor is None or actor.has_perm(TRIAGE_PERM):
        return
    refused = {}
    new = changes.get("severity")
    if new is not None and SEVERITY_RANK.get(new, 0) < SEVERITY_RANK.get(ticket.severity, 0):
        refused["severity"] = [_("Only triage may lower the severity.")]
    if "queue" in changes and changes["queue"] != ticket.queue:
        refused["queue"] = [_("Only triage may move it to another queue.")]
    if "assignee" in changes and changes["assignee"] not in (ticket.assignee, actor):
        refused["assignee"] = [_("You may take it yourself; only triage assigns others.")]
    if refused:
        raise NotPermitted(
            _("Your role may not change: %(fields)s.") % {"fields": ", ".join(refused)},
            code="field_not_allowed",
            fields=refused,
        )


UPDATABLE = (
    "severity",
    "description",
    "data",
    "assignee",
    "queue",
    "work_center",
    "machine",
    "work_order",
    "lot",
    "external_refs",
)


def update_exception(
    ticket: ExceptionTicket,
    *,
    actor,
    expected_version: int | None = None,
    reason: str = "",
    **changes,
) -> ExceptionTicket:
    """Change fields of an open ticket (severity, description, form data, assignee, role queue,
    context, ERP references). Each meaningful change leaves a timeline event."""
    authorize(actor, CHANGE_PERM, ticket.site_id)
    check_lengths(description=changes.get("description"))
    if "external_refs" in changes:
        check_external_refs(changes["external_refs"])
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise InvalidInput(
            _("These fields cannot be changed: %(f)s.") % {"f": ", ".join(sorted(unknown))},
            code="read_only_field",
        )
    with transaction.atomic():
        locked = lock_ticket(ticket, expected_version)
        if locked.phase in (Phase.CLOSED, Phase.CANCELLED):
            raise TransitionNotAllowed(
                _("Exception %(number)s is closed.") % {"number": locked.number}
            )
        check_triage(locked, changes, actor)
        changed = apply_changes(locked, changes, actor=actor, rule=None)
        if not changed:
            return locked
        # A new severity may mean another SLA policy: due times move with it.
        clock = sla.schedule(locked) if "severity" in changed else []
        save_ticket(
            locked,
            actor=actor,
            reason=reason or "updated: " + ", ".join(changed),
            fields=[*changed, *clock],
        )
        emit_ticket_event("exception.updated", locked, actor=actor, reason=reason, changed=changed)
    return locked


def apply_changes(ticket: ExceptionTicket, changes: dict, *, actor, rule) -> list[str]:
    """Validate and set ``changes`` on a locked ticket, writing timeline events; returns the
    names of the fields that really changed."""
    changed = []
    if "data" in changes:
        schema = ticket.type.form_schema
        errors = validate_data(schema, changes["data"]) or picker_errors(
            schema_fields(schema), changes["data"], ticket.site
        )
        if errors:
            raise InvalidInput(
                _("Invalid form data."), code="invalid_form", fields={"data": errors}
            )
    if "severity" in changes:
        check_severity(changes["severity"])
    if changes.get("assignee") is not None and not can_take(changes["assignee"], ticket):
        message = not_assignable(changes["assignee"].get_username(), ticket)
        raise InvalidInput(message, code="invalid_assignee", fields={"assignee": [message]})
    if changes.get("queue") is not None and changes["queue"].name not in ROLES:
        raise InvalidInput(
            _("Not a role."), code="invalid_queue", fields={"queue": [_("Not a role.")]}
        )
    check_same_site(
        ticket.site,
        **{
            k: changes[k]
            for k in ("work_center", "machine", "work_order", "lot")
            if changes.get(k) is not None
        },
    )
    for field, value in changes.items():
        old = getattr(ticket, field)
        if old == value:
            continue
        setattr(ticket, field, value)
        changed.append(field)
        if field in ("assignee", "queue"):
            name = (
                (value.username if field == "assignee" else value.name)
                if value is not None
                else None
            )
            add_to_timeline(
                ticket,
                EventKind.ASSIGNED,
                actor=actor,
                rule=rule,
                message=name or "",
                field=field,
                value=name,
            )
        elif field == "severity":
            add_to_timeline(
                ticket,
                EventKind.SEVERITY_CHANGED,
                actor=actor,
                rule=rule,
                **{"from": old, "to": value},
            )
        else:
            add_to_timeline(ticket, EventKind.UPDATED, actor=actor, rule=rule, field=field)
    return changed
