"""SLA clocks and escalation ladders.

Time counts only while the site works (its ``mes`` working calendar; none = around the clock) and
while the ticket is not in a state that pauses the clock. Every deadline is
``raised_at + (target + paused minutes)`` in working time. ``schedule()`` recomputes a ticket's
due times and its ``next_escalation_at`` after every change; the sweep reads only tickets whose
``next_escalation_at`` has passed (an index), locks them with SKIP LOCKED (two sweeps never
take the same ticket) and records each fired level in a unique row (never fired twice).
"""

from __future__ import annotations

import datetime

from mes import config_cache
from mes.calendars import calendar_for

from .choices import SEVERITY_RANK, Severity
from .models import (
    EscalationFiring,
    EscalationLevel,
    EscalationPolicy,
    ExceptionTicket,
    SlaPolicy,
    WorkflowState,
)

Phase = WorkflowState.Phase


# --- policies ---------------------------------------------------------------------------


def _active_sla_policies() -> list[SlaPolicy]:
    return config_cache.cached(
        "sla_policies", lambda: list(SlaPolicy.objects.filter(is_active=True))
    )


def sla_policy_between(type_id, severity) -> SlaPolicy | None:
    """The most specific active SLA policy: type and severity, type, severity, neither."""
    candidates = [
        p
        for p in _active_sla_policies()
        if p.type_id in (type_id, None) and p.severity in (severity, "")
    ]
    ranked = sorted(candidates, key=lambda p: (p.type_id is None, p.severity == ""))
    return ranked[0] if ranked else None


def sla_policy_for(ticket: ExceptionTicket) -> SlaPolicy | None:
    return sla_policy_between(ticket.type_id, ticket.severity)


def _active_escalation_policies() -> list[tuple[EscalationPolicy, frozenset[int]]]:
    def load():
        policies = EscalationPolicy.objects.filter(is_active=True).prefetch_related("types")
        return [(p, frozenset(t.pk for t in p.types.all())) for p in policies]

    return config_cache.cached("escalation_policies", load)


def _matches(policy: EscalationPolicy, types: frozenset[int], type_id, severity) -> bool:
    return (not types or type_id in types) and (
        not policy.severities
        or (isinstance(policy.severities, list) and severity in policy.severities)
    )


def _rank(entry: tuple[EscalationPolicy, frozenset[int]]) -> tuple:
    """The most specific first: naming the type (or told to win over those that do), then
    naming severities, then by order."""
    policy, types = entry
    return (
        not (types or policy.wins_over_specific),
        not policy.severities,
        policy.order,
        policy.pk,
    )


def escalation_policy_between(type_id, severity) -> EscalationPolicy | None:
    matching = [e for e in _active_escalation_policies() if _matches(*e, type_id, severity)]
    return min(matching, key=_rank)[0] if matching else None


def escalation_policy_for(ticket: ExceptionTicket) -> EscalationPolicy | None:
    """The ladder a ticket gets when raised (see ``EscalationPolicy``)."""
    return escalation_policy_between(ticket.type_id, ticket.severity)


def _meetings(policy: EscalationPolicy, exception_types):
    """``(type, winning policy, matching policies)`` wherever ``policy`` matches a ticket of
    one of ``exception_types`` at some severity."""
    entries = _active_escalation_policies()
    for exception_type in exception_types:
        for severity in Severity.values:
            matching = [e for e in entries if _matches(*e, exception_type.pk, severity)]
            if any(p.pk == policy.pk for p, _t in matching):
                yield exception_type, min(matching, key=_rank)[0], matching


def overlaps(policy: EscalationPolicy, exception_types) -> dict[str, dict[str, list[str]]]:
    """Where ``policy`` meets other active policies, per type it covers: ``{"wins": {other
    policy: [type names]}, "loses": {winning policy: [type names]}}`` (a type is listed when
    it happens for at least one severity)."""
    wins: dict[str, set[str]] = {}
    loses: dict[str, set[str]] = {}
    for exception_type, winner, matching in _meetings(policy, exception_types):
        if winner.pk != policy.pk:
            loses.setdefault(winner.name, set()).add(exception_type.name)
            continue
        for other, _t in matching:
            if other.pk != policy.pk:
                wins.setdefault(other.name, set()).add(exception_type.name)
    return {
        "wins": {k: sorted(v) for k, v in sorted(wins.items())},
        "loses": {k: sorted(v) for k, v in sorted(loses.items())},
    }


def ever_applies(policy: EscalationPolicy, exception_types) -> bool:
    """Does ``policy`` win for a ticket of some type and severity?"""
    return any(w.pk == policy.pk for _t, w, _m in _meetings(policy, exception_types))


def ladder(policy_id: int) -> list[EscalationLevel]:
    """The levels of an escalation policy in the order they fire (shared: read-only)."""
    return config_cache.cached(
        ("ladder", policy_id),
        lambda: list(
            EscalationLevel.objects.filter(policy_id=policy_id).order_by("after_minutes", "level")
        ),
    )


# --- the clock of one ticket ------------------------------------------------------------


def deadline(ticket: ExceptionTicket, minutes: float, calendar=None) -> datetime.datetime | None:
    calendar = calendar or calendar_for(ticket.site)
    return calendar.add(ticket.raised_at, minutes + ticket.sla_paused_minutes)


def _level_applies(level: EscalationLevel, ticket: ExceptionTicket) -> bool:
    if ticket.phase in (Phase.RESOLVED, Phase.CLOSED, Phase.CANCELLED):
        return False
    if level.clock == EscalationLevel.Clock.ACKNOWLEDGE:
        return ticket.acknowledged_at is None
    return True


def pending_levels(ticket: ExceptionTicket) -> list[EscalationLevel]:
    if ticket.escalation_policy_id is None:
        return []
    levels = [
        level for level in ladder(ticket.escalation_policy_id) if _level_applies(level, ticket)
    ]
    if levels and ticket.pk is not None:
        fired = getattr(ticket, "fired_level_ids", None)  # read for many at once (the sweep)
        if fired is None:
            fired = set(
                EscalationFiring.objects.filter(exception=ticket).values_list("level_id", flat=True)
            )
        levels = [level for level in levels if level.pk not in fired]
    return levels


def schedule(ticket: ExceptionTicket, *, at_raise: bool = False) -> list[str]:
    """Recompute due times and the next escalation of ``ticket`` (in memory); returns the
    changed field names for the caller's save."""
    before = (
        ticket.ack_due_at,
        ticket.resolve_due_at,
        ticket.next_escalation_at,
        ticket.escalation_policy_id,
    )
    if at_raise:
        ticket.escalation_policy = escalation_policy_for(ticket)
    calendar = calendar_for(ticket.site)
    policy = sla_policy_for(ticket)
    paused = ticket.sla_paused_since is not None
    ack = policy.acknowledge_minutes if policy else None
    res = policy.resolve_minutes if policy else None
    ticket.ack_due_at = None if paused or ack is None else deadline(ticket, ack, calendar)
    ticket.resolve_due_at = None if paused or res is None else deadline(ticket, res, calendar)
    levels = [] if paused else pending_levels(ticket)
    ticket.next_escalation_at = (
        deadline(ticket, levels[0].after_minutes, calendar) if levels else None
    )
    after = (
        ticket.ack_due_at,
        ticket.resolve_due_at,
        ticket.next_escalation_at,
        ticket.escalation_policy_id,
    )
    names = ["ack_due_at", "resolve_due_at", "next_escalation_at", "escalation_policy"]
    return [n for n, b, a in zip(names, before, after, strict=True) if b != a]


def track_pause(
    ticket: ExceptionTicket, target: WorkflowState, now: datetime.datetime
) -> list[str]:
    """Start or stop the pause when a ticket enters or leaves a pausing state."""
    if target.pauses_sla and ticket.sla_paused_since is None:
        ticket.sla_paused_since = now
        return ["sla_paused_since"]
    if not target.pauses_sla and ticket.sla_paused_since is not None:
        ticket.sla_paused_minutes += calendar_for(ticket.site).between(ticket.sla_paused_since, now)
        ticket.sla_paused_since = None
        return ["sla_paused_since", "sla_paused_minutes"]
    return []


def escalated_severity(current: str, wanted: str) -> str:
    if wanted and SEVERITY_RANK.get(wanted, 0) > SEVERITY_RANK.get(current, 0):
        return wanted
    return current


def clock_summary(ticket: ExceptionTicket) -> dict:
    """What a ticket's page shows of its clocks: the SLA policy and escalation ladder it got,
    its due times, and each level of the ladder, fired (when) or still to come (when due)."""
    levels = ladder(ticket.escalation_policy_id) if ticket.escalation_policy_id else []
    fired = (
        dict(EscalationFiring.objects.filter(exception=ticket).values_list("level_id", "fired_at"))
        if levels
        else {}
    )
    paused = ticket.sla_paused_since is not None
    calendar = calendar_for(ticket.site) if levels and not paused else None
    rows = []
    for level in levels:
        applies = level.pk not in fired and _level_applies(level, ticket) and not paused
        rows.append(
            {
                "level": level,
                "fired_at": fired.get(level.pk),
                "due_at": deadline(ticket, level.after_minutes, calendar) if applies else None,
                "skipped": level.pk not in fired and not applies,
            }
        )
    return {
        "sla_policy": sla_policy_for(ticket),
        "escalation_policy": ticket.escalation_policy if ticket.escalation_policy_id else None,
        "paused": paused,
        "levels": rows,
    }
