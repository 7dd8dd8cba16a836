"""What machines report: their state and their counts (from the OPC UA collector, a floor
page, a replay). A stop as long as the machine's ``downtime_after_seconds`` opens a
:class:`~mes.models.Downtime` (``machine.downtime_started``) and runs the ``on_downtime``
handlers in the same transaction (exceptions raises its ``machine_downtime`` ticket); running
again ends it (``machine.downtime_ended``). A stop shorter than ``short_stop_seconds`` is a
short stop, counted in the minute's :class:`~mes.models.MachineCount`.

Time is the source's: a report carries when it happened, so a replay or a collector catching
up after a reconnect gives the same rows as live. Reports older than the machine's current
state are stale and ignored (at-least-once sources resend).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, models, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from mes.errors import InvalidInput, PreconditionFailed
from mes.models import Downtime, Machine, MachineCount, MachineState, MachineStateSpan, Operation
from mes.models.machines import DOWN
from mes.outbox import emit_event
from mes.registry import Registry

from .base import authorize, save_with_history

#: ``handler(downtime, *, started: bool, actor)``, inside the transaction that opens or
#: closes a downtime: exceptions raises a ticket when one starts and notes when it ends.
on_downtime: Registry = Registry(
    "downtime handlers",
    "Run inside the transaction that opens or closes a machine downtime, with the downtime.",
    multiple=True,
)
REPORT_PERM = "mes.change_machine"


def _minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def _lock(machine: Machine | int) -> Machine:
    pk = machine if isinstance(machine, int) else machine.pk
    return Machine.objects.select_for_update().select_related("site", "work_center").get(pk=pk)


def _open_span(machine: Machine) -> MachineStateSpan | None:
    return MachineStateSpan.objects.filter(machine=machine, ended_at__isnull=True).first()


def _payload(machine: Machine, **extra) -> dict:
    return {
        "site": machine.site.code,
        "machine": machine.code,
        "machine_id": machine.pk,
        "work_center": machine.work_center.code,
        **extra,
    }


def report_state(machine: Machine, state: str, at: datetime, *, actor=None) -> bool:
    """The machine is in ``state`` since ``at``. Returns whether anything changed."""
    if state not in MachineState.values:
        raise InvalidInput(
            _("Unknown machine state."), code="invalid_state", fields={"state": [str(state)]}
        )
    authorize(actor, REPORT_PERM, machine.site_id)
    with transaction.atomic():
        machine = _lock(machine)
        span = _open_span(machine)
        if span is not None and at < span.started_at:
            return False  # older than what we know: a resend
        _open_due(machine, span, at, actor=actor)
        if span is not None and span.state == state:
            return False
        down_since = at
        if span is not None:
            span.ended_at = at
            span.save(update_fields=["ended_at"])
            if span.state in DOWN and state in DOWN:
                down_since = span.down_since  # one stop, whatever it is called on the way
            elif span.state in DOWN:
                _stop_ended(machine, span, at, actor=actor)
        MachineStateSpan.objects.create(
            machine=machine,
            state=state,
            started_at=at,
            down_since=down_since if state in DOWN else None,
        )
    return True


def _stop_ended(machine: Machine, span: MachineStateSpan, at: datetime, *, actor) -> None:
    open_downtime = Downtime.objects.filter(machine=machine, ended_at__isnull=True).first()
    if open_downtime is not None:
        open_downtime.ended_at = at
        save_with_history(open_downtime, actor=actor, reason="running again", fields=["ended_at"])
        emit_event(
            "machine.downtime_ended",
            aggregate=open_downtime,
            site=machine.site,
            actor=actor,
            reason="running again",
            payload=downtime_payload(open_downtime),
        )
        for _name, handlers in on_downtime.items():
            for handler in handlers:
                handler(open_downtime, started=False, actor=actor)
    elif at - span.down_since < timedelta(seconds=machine.short_stop_seconds):
        _add_counts(machine, _minute(span.down_since), short_stops=1)


def open_due_downtimes(now: datetime | None = None, *, actor=None) -> int:
    """Open the downtime of every machine down for its ``downtime_after_seconds`` by ``now``
    (the collector calls this every second; a report does it for its own machine)."""
    now = now or timezone.now()
    opened = 0
    candidates = (
        MachineStateSpan.objects.filter(ended_at__isnull=True, state__in=DOWN)
        .exclude(Exists(Downtime.objects.filter(machine=OuterRef("machine"), ended_at=None)))
        .values_list("machine_id", "down_since", "machine__downtime_after_seconds")
    )
    due = [  # read without locks; only the machines due are locked
        machine_id
        for machine_id, since, after in candidates
        if now - since >= timedelta(seconds=after)
    ]
    for machine_id in due:
        with transaction.atomic():
            machine = _lock(machine_id)
            opened += _open_due(machine, _open_span(machine), now, actor=actor)
    return opened


def _open_due(machine: Machine, span, now: datetime, *, actor) -> int:
    if span is None or span.state not in DOWN:
        return 0
    if now - span.down_since < timedelta(seconds=machine.downtime_after_seconds):
        return 0
    if Downtime.objects.filter(machine=machine, ended_at__isnull=True).exists():
        return 0
    operation = _current_operation(machine)
    downtime = save_with_history(
        Downtime(
            site=machine.site,
            machine=machine,
            state=span.state,
            started_at=span.down_since,
            work_order=operation.work_order if operation else None,
            operation=operation,
        ),
        actor=actor,
        reason="machine down",
    )
    emit_event(
        "machine.downtime_started",
        aggregate=downtime,
        site=machine.site,
        actor=actor,
        reason=_("%(machine)s %(state)s") % {"machine": machine.code, "state": span.state},
        payload=downtime_payload(downtime),
    )
    for _name, handlers in on_downtime.items():
        for handler in handlers:
            handler(downtime, started=True, actor=actor)
    return 1


def _current_operation(machine: Machine) -> Operation | None:
    running = Operation.objects.filter(status="in_progress").select_related("work_order")
    return (
        running.filter(machine=machine).order_by("-actual_start").first()
        or running.filter(work_center=machine.work_center_id, machine__isnull=True)
        .order_by("-actual_start")
        .first()
    )


def downtime_payload(downtime: Downtime, **extra) -> dict:
    return _payload(
        downtime.machine,
        downtime=downtime.number,
        downtime_id=downtime.pk,
        state=downtime.state,
        started_at=downtime.started_at.isoformat(),
        ended_at=downtime.ended_at.isoformat() if downtime.ended_at else None,
        work_order=downtime.work_order.erp_number if downtime.work_order_id else None,
        sequence=downtime.operation.sequence if downtime.operation_id else None,
        reason_code=downtime.reason.code if downtime.reason_id else None,
        **extra,
    )


def set_downtime_reason(
    downtime: Downtime, *, actor, reason_code, note: str = "", expected_version=None
) -> Downtime:
    """The floor says why the machine was down: a leaf of the reason tree (anyone who may
    confirm operations at the site: the operator at the machine)."""
    authorize(actor, "mes.add_confirmation", downtime.site_id)
    if reason_code is None or not reason_code.is_active or reason_code.children.exists():
        raise InvalidInput(
            _("Pick a reason at the end of a branch."),
            code="invalid_reason",
            fields={"reason": [_("Not a reason one can pick.")]},
        )
    with transaction.atomic():
        locked = (
            Downtime.objects.select_for_update(of=("self",))
            .select_related("machine__site", "machine__work_center", "work_order", "operation")
            .get(pk=downtime.pk)
        )
        if expected_version is not None and expected_version != locked.version:
            raise PreconditionFailed(_("The downtime changed since you read it."))
        locked.reason = reason_code
        locked.reason_by = actor if actor is not None and actor.is_authenticated else None
        locked.note = (note or "").strip()[:500]
        locked.version += 1
        save_with_history(
            locked,
            actor=actor,
            reason=reason_code.name,
            fields=["reason", "reason_by", "note", "version"],
        )
        emit_event(
            "machine.downtime_reason_set",
            aggregate=locked,
            site=locked.machine.site,
            actor=actor,
            reason=reason_code.name,
            payload=downtime_payload(
                locked, reason_name=reason_code.name, planned=reason_code.planned
            ),
        )
    return locked


def counter_delta(previous: int | None, value: int, bits: int = 16) -> int:
    """Pieces counted between two readings of a counter of ``bits`` bits: past a rollover
    (65535 -> 3 is 4 more) and a reset to zero (the count starts again: ``value`` more);
    never negative. No previous reading: nothing counted yet."""
    if previous is None or value < 0:
        return 0
    if value >= previous:
        return value - previous
    top = 1 << bits
    if previous >= top * 3 // 4 and value < top // 4 and previous < top:
        return value + top - previous
    return value


@dataclass(frozen=True)
class Counted:
    """Pieces a machine counted at ``at`` (deltas, already past resets and rollovers)."""

    machine_id: int
    at: datetime
    good: int = 0
    scrap: int = 0


def record_counts(counted: list[Counted]) -> int:
    """Add pieces to their machines' minutes, many at once (the collector's batch): one
    statement per batch, whatever the number of machines. Returns the rows touched."""
    totals: dict[tuple[int, datetime], list[int]] = {}
    for c in counted:
        if c.good or c.scrap:
            row = totals.setdefault((c.machine_id, _minute(c.at)), [0, 0, 0])
            row[0] += c.good
            row[1] += c.scrap
    _upsert(totals)
    return len(totals)


def _add_counts(machine: Machine, minute: datetime, *, short_stops: int) -> None:
    _upsert({(machine.pk, minute): [0, 0, short_stops]})


_TABLE = MachineCount._meta.db_table
_UPSERT = f"""
INSERT INTO {_TABLE} (machine_id, minute, good, scrap, short_stops) VALUES {{values}}
ON CONFLICT (machine_id, minute) DO UPDATE SET good = {_TABLE}.good + excluded.good,
    scrap = {_TABLE}.scrap + excluded.scrap,
    short_stops = {_TABLE}.short_stops + excluded.short_stops
"""  # noqa: S608 - the model's table, no input


def _upsert(totals: dict[tuple[int, datetime], list[int]]) -> None:
    """Add to each (machine, minute) row, creating it: PostgreSQL and SQLite alike."""
    if not totals:
        return
    values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(totals))
    params = [x for (m, minute), counts in totals.items() for x in (m, minute, *counts)]
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT.format(values=values), params)


def machine_counts(operation: Operation, *, now: datetime | None = None) -> dict:
    """What the operation's machine counted since the operation started, or since its last
    confirmation (to the minute): offered to whoever confirms it, with the machine's running
    minutes. No machine: nothing to offer."""
    now = now or timezone.now()
    machine = operation.machine
    last = operation.confirmations.order_by("-created_at").values_list("created_at", flat=True)
    last = last.first()
    since = last or operation.actual_start
    offer = {"machine": machine.code if machine else None, "since": since, "until": now}
    if machine is None or since is None:
        return {**offer, "good": 0, "scrap": 0, "running_minutes": 0.0}
    minutes = MachineCount.objects.filter(machine=machine, minute__lte=now)
    minutes = (
        minutes.filter(minute__gt=_minute(since))
        if last
        else minutes.filter(minute__gte=_minute(since))
    )
    totals = minutes.aggregate(good=models.Sum("good"), scrap=models.Sum("scrap"))
    running = MachineStateSpan.objects.filter(
        models.Q(ended_at__isnull=True) | models.Q(ended_at__gt=since),
        machine=machine,
        state=MachineState.RUNNING,
        started_at__lt=now,
    ).values_list("started_at", "ended_at")
    seconds = sum(max((min(b or now, now) - max(a, since)).total_seconds(), 0) for a, b in running)
    return {
        **offer,
        "good": totals["good"] or 0,
        "scrap": totals["scrap"] or 0,
        "running_minutes": round(seconds / 60, 1),
    }
