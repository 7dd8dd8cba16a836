"""Every change of an exception ticket.

Same contract as :mod:`mes.services`: atomic, row lock, permission and site check, one history
row per changed record (actor and reason), a timeline event for the business meaning, and an
OutboxEvent that the rule engine (and later notifications, ERP) consume after commit. Writes
that carry ``expected_version`` (the API's If-Match) are refused with 412 when it is stale.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mes.access import can_access_site
from mes.errors import DomainError, InvalidInput, NotPermitted, TransitionNotAllowed
from mes.models import Lot, Machine, Operation, Site, WorkCenter, WorkOrder
from mes.outbox import emit_event
from mes.roles import ROLES
from mes.services import authorize, save_with_history

from . import sla
from .choices import EventKind, RaisedVia, Severity
from .models import (
    Attachment,
    Decision,
    ExceptionEvent,
    ExceptionTicket,
    ExceptionType,
    SiteCounter,
    WorkflowState,
)
from .schema import validate_data
from .workflow import role_allows, transitions_from

Phase = WorkflowState.Phase
CHANGE_PERM = "exceptions.change_exceptionticket"


class PreconditionFailed(DomainError):
    status = 412
    code = "precondition_failed"


# --- helpers ----------------------------------------------------------------------------


def _lock(ticket: ExceptionTicket | int, expected_version: int | None = None) -> ExceptionTicket:
    pk = ticket if isinstance(ticket, int) else ticket.pk
    locked = (
        ExceptionTicket.objects.select_for_update(of=("self",))
        .select_related("site", "type", "workflow", "work_order")
        .get(pk=pk)
    )
    if expected_version is not None and locked.version != expected_version:
        raise PreconditionFailed(
            _("Exception %(number)s was changed by someone else (version %(v)s); reload it.")
            % {"number": locked.number, "v": locked.version}
        )
    return locked


def _timeline(
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


def _save(ticket: ExceptionTicket, *, actor, reason: str, fields: list[str]) -> None:
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


def _emit(event_type: str, ticket: ExceptionTicket, *, actor, reason: str = "", **extra):
    return emit_event(
        event_type,
        aggregate=ticket,
        site=ticket.site,
        actor=actor,
        reason=reason,
        payload=ticket_payload(ticket, **extra),
    )


def _next_number(site: Site) -> str:
    counter, _ = SiteCounter.objects.get_or_create(site=site, name="exception")
    counter = SiteCounter.objects.select_for_update().get(pk=counter.pk)
    counter.value += 1
    counter.save(update_fields=["value"])
    return f"{site.code}-{counter.value:06d}"


def _check_same_site(site: Site, **objects) -> None:
    for field, obj in objects.items():
        if obj is not None and obj.site_id != site.pk:
            raise InvalidInput(
                _("The %(field)s belongs to another site.") % {"field": field},
                code="wrong_site",
                fields={field: [_("Of another site.")]},
            )


def _check_severity(severity: str) -> str:
    if severity not in Severity.values:
        raise InvalidInput(
            _("Unknown severity %(s)s.") % {"s": severity},
            code="invalid_severity",
            fields={"severity": [_("Choose low, medium, high or critical.")]},
        )
    return severity


# --- raise ------------------------------------------------------------------------------


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
    if not exception_type.is_active:
        raise InvalidInput(
            _("This exception type is not in use."),
            code="inactive_type",
            fields={"type": [_("Inactive type.")]},
        )
    data = {} if data is None else data
    errors = validate_data(exception_type.form_schema, data)
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
    _check_same_site(site, work_center=work_center, machine=machine, work_order=work_order, lot=lot)
    severity = _check_severity(severity or exception_type.default_severity)
    workflow = exception_type.workflow
    state = workflow.states.filter(code=workflow.initial_state).first()
    if state is None:
        raise DomainError(
            _("The workflow %(w)s has no initial state.") % {"w": workflow.code},
            code="workflow_broken",
        )
    with transaction.atomic():
        ticket = ExceptionTicket(
            number=_next_number(site),
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
        save_with_history(ticket, actor=actor, reason="raised")
        _timeline(
            ticket,
            EventKind.RAISED,
            actor=actor,
            message=description[:200] if description else "",
            via=raised_via,
        )
        _emit("exception.raised", ticket, actor=actor, data=data)
    return ticket


# --- workflow ---------------------------------------------------------------------------


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
        locked = _lock(ticket, expected_version)
        _apply_transition(locked, actor=actor, to=to, reason=(reason or "").strip())
    return locked


def _apply_transition(ticket: ExceptionTicket, *, actor, to: str, reason: str) -> None:
    state = ticket.workflow.states.get(code=ticket.status)
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
    _save(ticket, actor=actor, reason=reason or f"{previous} -> {target.code}", fields=fields)
    kind = (
        EventKind.ACKNOWLEDGED if target.phase == Phase.ACKNOWLEDGED else EventKind.STATUS_CHANGED
    )
    _timeline(ticket, kind, actor=actor, message=reason, **{"from": previous, "to": target.code})
    _emit("exception.status_changed", ticket, actor=actor, reason=reason, previous_status=previous)
    if target.phase == Phase.RESOLVED:
        decision = ticket.decisions.order_by("-decided_at", "-pk").first()
        _emit(
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
    decision = (decision or "").strip()
    if not decision:
        raise InvalidInput(
            _("Say what was decided."),
            code="decision_missing",
            fields={"decision": [_("This field is required.")]},
        )
    with transaction.atomic():
        locked = _lock(ticket, expected_version)
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
        _timeline(
            locked,
            EventKind.DECISION,
            actor=actor,
            message=decision,
            reasoning=record.reasoning,
            decision_id=record.pk,
        )
        _save(locked, actor=actor, reason="decision recorded", fields=[])
        _emit(
            "exception.decision", locked, actor=actor, decision=decision, reasoning=record.reasoning
        )
        if resolve_to:
            _apply_transition(locked, actor=actor, to=resolve_to, reason=decision)
    ticket.refresh_from_db()
    return record


def comment_exception(
    ticket: ExceptionTicket, *, actor, text: str, expected_version: int | None = None
) -> ExceptionEvent:
    """Add a comment to the timeline (anyone who may change exceptions at the site)."""
    authorize(actor, CHANGE_PERM, ticket.site_id)
    text = (text or "").strip()
    if not text:
        raise InvalidInput(
            _("The comment is empty."),
            code="empty_comment",
            fields={"text": [_("This field is required.")]},
        )
    with transaction.atomic():
        locked = _lock(ticket, expected_version)
        event = _timeline(locked, EventKind.COMMENTED, actor=actor, message=text[:4000])
        _emit("exception.commented", locked, actor=actor, comment=text[:500])
    return event


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
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise InvalidInput(
            _("These fields cannot be changed: %(f)s.") % {"f": ", ".join(sorted(unknown))},
            code="read_only_field",
        )
    with transaction.atomic():
        locked = _lock(ticket, expected_version)
        if locked.phase in (Phase.CLOSED, Phase.CANCELLED):
            raise TransitionNotAllowed(
                _("Exception %(number)s is closed.") % {"number": locked.number}
            )
        changed = _apply_changes(locked, changes, actor=actor, rule=None)
        if not changed:
            return locked
        # A new severity may mean another SLA policy: due times move with it.
        clock = sla.schedule(locked) if "severity" in changed else []
        _save(
            locked,
            actor=actor,
            reason=reason or "updated: " + ", ".join(changed),
            fields=[*changed, *clock],
        )
        _emit("exception.updated", locked, actor=actor, reason=reason, changed=changed)
    return locked


def _apply_changes(ticket: ExceptionTicket, changes: dict, *, actor, rule) -> list[str]:
    """Validate and set ``changes`` on a locked ticket, writing timeline events; returns the
    names of the fields that really changed."""
    changed = []
    if "data" in changes:
        errors = validate_data(ticket.type.form_schema, changes["data"])
        if errors:
            raise InvalidInput(
                _("Invalid form data."), code="invalid_form", fields={"data": errors}
            )
    if "severity" in changes:
        _check_severity(changes["severity"])
    if changes.get("assignee") is not None:
        user = changes["assignee"]
        if (
            not user.is_active
            or not can_access_site(user, ticket.site)
            or not user.has_perm("exceptions.view_exceptionticket")
        ):
            raise InvalidInput(
                _("%(user)s cannot work on exceptions at %(site)s.")
                % {"user": user.username, "site": ticket.site.code},
                code="invalid_assignee",
                fields={"assignee": [_("No access to this site.")]},
            )
    if changes.get("queue") is not None and changes["queue"].name not in ROLES:
        raise InvalidInput(
            _("Not a role."), code="invalid_queue", fields={"queue": [_("Not a role.")]}
        )
    _check_same_site(
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
            _timeline(
                ticket,
                EventKind.ASSIGNED,
                actor=actor,
                rule=rule,
                message=name or "",
                field=field,
                value=name,
            )
        elif field == "severity":
            _timeline(
                ticket,
                EventKind.SEVERITY_CHANGED,
                actor=actor,
                rule=rule,
                **{"from": old, "to": value},
            )
        else:
            _timeline(ticket, EventKind.UPDATED, actor=actor, rule=rule, field=field)
    return changed


def add_attachment(
    ticket: ExceptionTicket, *, actor, upload, expected_version: int | None = None
) -> Attachment:
    """Attach a photo or document within ANDON_ATTACHMENT_MAX_BYTES and ANDON_ATTACHMENT_TYPES."""
    authorize(actor, CHANGE_PERM, ticket.site_id)
    content_type = (getattr(upload, "content_type", "") or "").split(";")[0].strip().lower()
    if content_type not in settings.ANDON_ATTACHMENT_TYPES:
        raise InvalidInput(
            _("Files of type %(t)s are not accepted.") % {"t": content_type or "?"},
            code="attachment_type",
            fields={"file": [_("Type not accepted.")]},
        )
    if upload.size > settings.ANDON_ATTACHMENT_MAX_BYTES:
        raise InvalidInput(
            _("The file is larger than %(n)s bytes.") % {"n": settings.ANDON_ATTACHMENT_MAX_BYTES},
            code="attachment_too_large",
            fields={"file": [_("Too large.")]},
        )
    with transaction.atomic():
        locked = _lock(ticket, expected_version)
        attachment = Attachment(
            exception=locked,
            file=upload,
            content_type=content_type,
            size=upload.size,
            uploaded_by=actor if actor is not None and actor.is_authenticated else None,
        )
        save_with_history(attachment, actor=actor, reason="attachment")
        _timeline(
            locked,
            EventKind.ATTACHMENT,
            actor=actor,
            message=attachment.file.name.rsplit("/", 1)[-1],
            attachment_id=attachment.pk,
        )
        _emit("exception.attachment_added", locked, actor=actor, attachment_id=attachment.pk)
    return attachment


# --- for the rule engine ----------------------------------------------------------------


def route_exception(ticket: ExceptionTicket, *, rule, changes: dict) -> list[str]:
    """Apply a routing rule's changes as the system. Emits ``exception.routed``, which rules do
    not listen to, so a rule never triggers itself."""
    with transaction.atomic():
        locked = _lock(ticket)
        changed = _apply_changes(locked, changes, actor=None, rule=rule)
        if changed:
            _save(locked, actor=None, reason=f"rule: {rule.name}"[:100], fields=changed)
            _emit(
                "exception.routed",
                locked,
                actor=None,
                reason=rule.name,
                rule=rule.name,
                changed=changed,
            )
    return changed


def note_rule_effect(
    ticket: ExceptionTicket,
    *,
    rule,
    kind: str,
    event_type: str,
    message: str = "",
    fields: dict | None = None,
    **data,
) -> None:
    """Record an effect a rule had outside the ticket (a held order, a notification), with any
    ticket flags it set, as one audited change: a timeline entry of ``kind`` and an outbox
    event of ``event_type`` (the rule action names it; see ``exceptions/events.py``)."""
    with transaction.atomic():
        locked = _lock(ticket)
        _timeline(locked, kind, rule=rule, message=message, **data)
        if fields:
            for name, value in fields.items():
                setattr(locked, name, value)
            _save(locked, actor=None, reason=f"rule: {rule.name}"[:100], fields=list(fields))
        _emit(event_type, locked, actor=None, reason=rule.name, rule=rule.name, **data)


def role_group(name: str) -> Group | None:
    return Group.objects.filter(name=name).first() if name in ROLES else None


# --- for the escalation sweep -----------------------------------------------------------


def record_escalation(ticket: ExceptionTicket, *, level, now) -> None:
    """A ladder level fired on a ticket the sweep holds locked: raise the severity if the level
    says so, write the timeline, and emit ``exception.escalated`` for the notifications."""
    roles = list(level.notify_roles or [])
    users = list(level.notify_users.values_list("username", flat=True))
    fields = []
    new_severity = sla.escalated_severity(ticket.severity, level.raise_severity_to)
    if new_severity != ticket.severity:
        _timeline(
            ticket,
            EventKind.SEVERITY_CHANGED,
            **{"from": ticket.severity, "to": new_severity, "level": level.level},
        )
        ticket.severity = new_severity
        fields.append("severity")
    _timeline(
        ticket,
        EventKind.ESCALATED,
        message=", ".join([*roles, *users]),
        level=level.level,
        clock=level.clock,
        roles=roles,
        users=users,
    )
    _save(ticket, actor=None, reason=f"escalation level {level.level}", fields=fields)
    _emit(
        "exception.escalated",
        ticket,
        actor=None,
        reason=f"level {level.level}",
        level=level.level,
        clock=level.clock,
        roles=roles,
        users=users,
    )


def reschedule(ticket: ExceptionTicket) -> None:
    """After a sweep: store the next escalation and due times (bookkeeping, no version bump)."""
    changed = sla.schedule(ticket)
    if changed:
        columns = {
            name if name != "escalation_policy" else "escalation_policy_id" for name in changed
        }
        ExceptionTicket.objects.filter(pk=ticket.pk).update(
            **{c: getattr(ticket, c) for c in columns}
        )
