"""Exception services: raising with validation, the workflow table in full, decisions, updates,
history and outbox rows, optimistic versions and per-site numbering under concurrency."""

import pytest

from exceptions import services
from exceptions.defaults import STATES, TRANSITIONS
from exceptions.models import Decision, ExceptionEvent, ExceptionTicket, WorkflowState
from mes.errors import DomainError, InvalidInput, NotPermitted, TransitionNotAllowed
from mes.models import OutboxEvent
from tests.concurrency import together
from tests.factories import WorkCenterFactory, make_work_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("require_postgres")]

PHASE = {code: phase for code, _name, phase, _d in STATES}


def raise_shortage(actor, site, shortage, **kwargs):
    return services.raise_exception(
        actor=actor,
        exception_type=shortage,
        site=site,
        data={"material": "RM-30062", "qty_missing": 40},
        **kwargs,
    )


def test_raise_writes_ticket_history_timeline_and_event(p1, p2, user_in, shortage):
    supervisor = user_in("supervisor", p1)
    wo = make_work_order(p1, status="in_progress")
    ticket = raise_shortage(supervisor, p1, shortage, work_order=wo, description="Brak pręta C45")
    assert ticket.number == "P1-000001"
    assert (ticket.status, ticket.phase, ticket.severity) == ("open", "open", "high")
    history = ticket.history.get()
    assert (history.history_user, history.history_change_reason) == (supervisor, "raised")
    assert [e.kind for e in ticket.events.all()] == ["raised"]
    event = OutboxEvent.objects.get(type="exception.raised")
    assert event.payload["number"] == "P1-000001" and event.payload["work_order"] == wo.erp_number
    assert event.site == p1 and event.actor == supervisor
    # numbering is per site
    assert raise_shortage(supervisor, p1, shortage).number == "P1-000002"
    assert raise_shortage(user_in("supervisor", p2), p2, shortage).number == "P2-000001"


def test_operation_brings_its_work_order_and_work_center(p1, user_in, shortage):
    wo = make_work_order(p1, status="in_progress")
    op = wo.operations.order_by("sequence").first()
    ticket = raise_shortage(user_in("operator", p1), p1, shortage, operation=op)
    assert (ticket.work_order, ticket.work_center) == (wo, op.work_center)


@pytest.mark.parametrize("field", ["work_order", "work_center", "lot"])
def test_context_of_another_site_is_refused(p1, p2, user_in, shortage, field):
    from tests.factories import LotFactory

    other = {
        "work_order": lambda: make_work_order(p2),
        "work_center": lambda: WorkCenterFactory(site=p2),
        "lot": lambda: LotFactory(site=p2),
    }[field]()
    with pytest.raises(InvalidInput) as err:
        raise_shortage(user_in("supervisor", p1, p2), p1, shortage, **{field: other})
    assert err.value.code == "wrong_site"
    assert (
        not ExceptionTicket.objects.exists()
        and not OutboxEvent.objects.filter(type__startswith="exception").exists()
    )


def test_invalid_form_names_the_field_and_writes_nothing(p1, user_in, shortage):
    with pytest.raises(InvalidInput) as err:
        services.raise_exception(
            actor=user_in("supervisor", p1),
            exception_type=shortage,
            site=p1,
            data={"qty_missing": -3},
        )
    assert err.value.code == "invalid_form"
    assert set(err.value.fields["data"]) == {"material", "qty_missing"}
    assert not ExceptionTicket.objects.exists()


def test_who_may_raise(p1, p2, user_in, shortage):
    for actor, code in [
        (user_in("auditor"), "permission_denied"),
        (user_in("supervisor", p2), "wrong_site"),
    ]:
        with pytest.raises(NotPermitted) as err:
            raise_shortage(actor, p1, shortage)
        assert err.value.code == code
    shortage.is_active = False
    shortage.save()
    with pytest.raises(InvalidInput) as err:
        raise_shortage(user_in("supervisor", p1), p1, shortage)
    assert err.value.code == "inactive_type"


# --- the default workflow, every cell of the table --------------------------------------

STATE_CODES = [code for code, *_ in STATES]


def expected_outcome(src: str, dst: str, role: str, with_reason: bool, with_decision: bool) -> str:
    terminal = PHASE[src] in ("closed", "cancelled")
    candidates = [
        t
        for t in TRANSITIONS
        if t[1] == dst and dst != src and (t[0] == src or (t[0] is None and not terminal))
    ]
    if not candidates:
        return "transition_not_allowed"
    allowed = [t for t in candidates if role in t[3]]
    if not allowed:
        return "role_not_allowed"
    if allowed[0][4] and not with_reason:
        return "reason_required"
    if dst == "resolved" and not with_decision:
        return "decision_required"
    return "ok"


@pytest.mark.parametrize("src", STATE_CODES)
@pytest.mark.parametrize("role", ["operator", "procurement", "supervisor"])
def test_workflow_table(p1, user_in, shortage, src, role):
    actor = user_in(role, p1)
    for dst in STATE_CODES:
        for with_reason, with_decision in [(False, False), (True, True)]:
            ticket = raise_shortage(None, p1, shortage)
            ExceptionTicket.objects.filter(pk=ticket.pk).update(status=src, phase=PHASE[src])
            if with_decision:
                Decision.objects.create(exception=ticket, decision="d")
            ticket.refresh_from_db()
            expected = expected_outcome(src, dst, role, with_reason, with_decision)
            before = (ticket.version, ExceptionEvent.objects.count(), OutboxEvent.objects.count())
            try:
                services.transition_exception(
                    ticket, actor=actor, to=dst, reason="because" if with_reason else ""
                )
                outcome = "ok"
            except DomainError as exc:
                outcome = exc.code
                status = {
                    "transition_not_allowed": 409,
                    "role_not_allowed": 403,
                    "reason_required": 400,
                    "decision_required": 409,
                }[exc.code]
                assert exc.status == status
            assert outcome == expected, (src, dst, role, with_reason)
            ticket.refresh_from_db()
            if outcome == "ok":
                assert (ticket.status, ticket.version) == (dst, before[0] + 1)
                assert ticket.history.first().history_user == actor
                # entering a resolved state also emits exception.resolved (with the decision)
                emitted = ["exception.status_changed"] + (
                    ["exception.resolved"] * (dst == "resolved")
                )
                new_events = OutboxEvent.objects.order_by("-pk")[: len(emitted)]
                assert OutboxEvent.objects.count() == before[2] + len(emitted)
                assert sorted(e.type for e in new_events) == sorted(emitted)
            else:
                assert (
                    ticket.status,
                    ticket.version,
                    ExceptionEvent.objects.count(),
                    OutboxEvent.objects.count(),
                ) == (src, *before)


def test_timestamps_follow_the_phases(p1, user_in, shortage):
    lead = user_in("supervisor", p1)
    ticket = raise_shortage(lead, p1, shortage)
    ticket = services.transition_exception(ticket, actor=lead, to="acknowledged")
    assert ticket.acknowledged_at and not ticket.resolved_at
    services.record_decision(
        ticket, actor=lead, decision="Use substitute RM-30063", resolve_to="resolved"
    )
    ticket.refresh_from_db()
    assert ticket.resolved_at and ticket.phase == "resolved"
    ticket = services.transition_exception(
        ticket, actor=lead, to="reopened", reason="Substitute rejected"
    )
    assert ticket.resolved_at is None and ticket.phase == WorkflowState.Phase.ACTIVE
    ticket = services.transition_exception(
        ticket, actor=lead, to="cancelled", reason="Order cancelled"
    )
    assert ticket.closed_at is not None
    kinds = [e.kind for e in ticket.events.all()]
    assert kinds == [
        "raised",
        "acknowledged",
        "decision",
        "status_changed",
        "status_changed",
        "status_changed",
    ]


def test_stale_version_is_refused(p1, user_in, shortage):
    lead = user_in("supervisor", p1)
    ticket = raise_shortage(lead, p1, shortage)
    services.update_exception(ticket, actor=lead, expected_version=1, severity="critical")
    for call in (
        lambda: services.update_exception(ticket, actor=lead, expected_version=1, severity="low"),
        lambda: services.transition_exception(
            ticket, actor=lead, to="acknowledged", expected_version=1
        ),
        lambda: services.record_decision(ticket, actor=lead, decision="x", expected_version=1),
    ):
        with pytest.raises(services.PreconditionFailed) as err:
            call()
        assert err.value.status == 412
    ticket.refresh_from_db()
    assert (ticket.severity, ticket.status, ticket.version) == ("critical", "open", 2)


def test_decision_needs_text_and_is_audited(p1, user_in, shortage):
    buyer = user_in("procurement", p1)
    ticket = raise_shortage(None, p1, shortage)
    with pytest.raises(InvalidInput):
        services.record_decision(ticket, actor=buyer, decision="  ")
    decision = services.record_decision(
        ticket,
        actor=buyer,
        decision="Air freight from supplier",
        reasoning="Customer penalty > freight cost",
    )
    assert decision.history.get().history_user == buyer
    assert decision.decided_by == buyer
    ticket.refresh_from_db()
    assert ticket.status == "open"  # recorded without resolving
    event = ticket.events.get(kind="decision")
    assert event.message == "Air freight from supplier" and event.data["reasoning"].startswith(
        "Customer"
    )
    assert OutboxEvent.objects.filter(type="exception.decision").count() == 1


def test_update_validates_and_leaves_timeline(p1, p2, user_in, shortage):
    lead = user_in("supervisor", p1)
    ticket = raise_shortage(lead, p1, shortage)
    outsider = user_in("procurement", p2)
    with pytest.raises(InvalidInput) as err:
        services.update_exception(ticket, actor=lead, assignee=outsider)
    assert err.value.code == "invalid_assignee"
    with pytest.raises(InvalidInput):
        services.update_exception(ticket, actor=lead, data={"material": ""})
    with pytest.raises(InvalidInput):
        services.update_exception(ticket, actor=lead, number="P1-999")
    buyer = user_in("procurement", p1)
    services.update_exception(
        ticket, actor=lead, assignee=buyer, severity="critical", reason="line down"
    )
    kinds = [(e.kind, e.actor) for e in ticket.events.all()]
    assert ("assigned", lead) in kinds and ("severity_changed", lead) in kinds
    event = OutboxEvent.objects.get(type="exception.updated")
    assert sorted(event.payload["changed"]) == ["assignee", "severity"]
    assert ticket.history.first().history_change_reason == "line down"


def test_closed_ticket_takes_no_changes(p1, user_in, shortage):
    lead = user_in("supervisor", p1)
    ticket = raise_shortage(lead, p1, shortage)
    services.transition_exception(ticket, actor=lead, to="cancelled", reason="duplicate")
    with pytest.raises(TransitionNotAllowed):
        services.update_exception(ticket, actor=lead, severity="low")
    with pytest.raises(TransitionNotAllowed):
        services.record_decision(ticket, actor=lead, decision="x")


def test_comment(p1, user_in, shortage):
    operator = user_in("operator", p1)
    ticket = raise_shortage(operator, p1, shortage)
    with pytest.raises(InvalidInput):
        services.comment_exception(ticket, actor=operator, text="")
    services.comment_exception(ticket, actor=operator, text="Still waiting at 14:30")
    assert ticket.events.last().kind == "commented"
    with pytest.raises(NotPermitted):
        services.comment_exception(ticket, actor=user_in("auditor"), text="x")


@pytest.mark.django_db(transaction=True)
def test_numbers_are_unique_under_concurrent_raises(p1, user_in, shortage):
    actor = user_in("supervisor", p1)
    batches = together(
        lambda: [raise_shortage(actor, p1, shortage).number for _ in range(5)], [()] * 4
    )
    numbers = [number for batch in batches for number in batch]
    assert sorted(numbers) == [f"P1-{n:06d}" for n in range(1, 21)]


def test_machine_must_be_in_the_given_work_center(p1, user_in, breakdown):
    from tests.factories import MachineFactory

    machine = MachineFactory(work_center=WorkCenterFactory(site=p1))
    with pytest.raises(InvalidInput) as err:
        services.raise_exception(
            actor=user_in("operator", p1),
            exception_type=breakdown,
            site=p1,
            machine=machine,
            work_center=WorkCenterFactory(site=p1),
            data={"symptom": "alarm"},
        )
    assert err.value.code == "machine_not_in_work_center"
    ticket = services.raise_exception(
        actor=None, exception_type=breakdown, site=p1, machine=machine, data={"symptom": "leak"}
    )
    assert ticket.work_center == machine.work_center
