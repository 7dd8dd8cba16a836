"""SLA clocks and escalation ladders with a controlled clock: each level fires once, at its time,
to its roles; acknowledging stops the acknowledge ladder; calendars and pausing states stop the
clock; concurrent sweeps fire nothing twice."""

import datetime
import zoneinfo

import pytest
import time_machine

from exceptions import services
from exceptions.models import EscalationFiring, ExceptionTicket, WorkflowState, WorkflowTransition
from mes import calendars
from mes.models import NonWorkingDay, OutboxEvent, WorkingCalendar
from tests.concurrency import together

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("require_postgres")]

UTC = datetime.UTC
T0 = datetime.datetime(2026, 9, 8, 8, 0, tzinfo=UTC)  # a Tuesday


def at(minutes: float) -> datetime.datetime:
    return T0 + datetime.timedelta(minutes=minutes)


def raise_at(when, site, exception_type, severity="medium", **kwargs):
    with time_machine.travel(when, tick=False):
        return services.raise_exception(
            actor=None,
            exception_type=exception_type,
            site=site,
            severity=severity,
            data={"symptom": "alarm"},
            **kwargs,
        )


def sweep(when) -> int:
    with time_machine.travel(when, tick=False):
        return services.sweep_escalations()


def escalations(ticket):
    return [
        (e.data["level"], e.data["roles"])
        for e in ExceptionTicket.objects.get(pk=ticket.pk).events.filter(kind="escalated")
    ]


def test_due_times_at_raise_follow_the_severity(p1, breakdown):
    ticket = raise_at(T0, p1, breakdown, severity="high")
    assert (ticket.ack_due_at, ticket.resolve_due_at) == (at(15), at(240))
    critical = raise_at(T0, p1, breakdown, severity="critical")
    assert (critical.ack_due_at, critical.resolve_due_at) == (at(5), at(60))
    assert ticket.next_escalation_at == at(15)


def test_each_level_fires_once_at_its_time_to_its_roles(p1, breakdown):
    ticket = raise_at(T0, p1, breakdown, severity="medium")
    assert sweep(at(14.9)) == 0
    assert sweep(at(15)) == 1
    assert escalations(ticket) == [(1, ["supervisor"])]
    assert sweep(at(20)) == 0
    assert sweep(at(44)) == 0
    assert sweep(at(46)) == 1
    ticket.refresh_from_db()
    assert ticket.severity == "high"  # level 2 raises medium to high
    assert sweep(at(239)) == 0
    assert sweep(at(241)) == 1
    assert sweep(at(10_000)) == 0
    assert escalations(ticket) == [
        (1, ["supervisor"]),
        (2, ["supervisor", "manager"]),
        (3, ["manager"]),
    ]
    assert ExceptionTicket.objects.get(pk=ticket.pk).next_escalation_at is None
    events = OutboxEvent.objects.filter(type="exception.escalated").order_by("pk")
    assert [(e.payload["level"], e.payload["roles"]) for e in events] == escalations(ticket)
    assert EscalationFiring.objects.filter(exception=ticket).count() == 3


def test_a_sweep_late_by_hours_fires_each_missed_level_once(p1, breakdown):
    ticket = raise_at(T0, p1, breakdown, severity="medium")
    assert sweep(at(300)) == 3
    assert sweep(at(301)) == 0
    assert [level for level, _roles in escalations(ticket)] == [1, 2, 3]


def test_acknowledging_stops_the_acknowledge_ladder(p1, breakdown, user_in):
    ticket = raise_at(T0, p1, breakdown, severity="medium")
    with time_machine.travel(at(10), tick=False):
        ticket = services.transition_exception(
            ticket, actor=user_in("maintenance", p1), to="acknowledged"
        )
    assert ticket.next_escalation_at == at(240)  # only the resolve level is left
    assert sweep(at(100)) == 0
    assert sweep(at(241)) == 1
    assert escalations(ticket) == [(3, ["manager"])]


def test_resolving_stops_every_ladder(p1, breakdown, user_in):
    ticket = raise_at(T0, p1, breakdown, severity="medium")
    lead = user_in("supervisor", p1)
    with time_machine.travel(at(5), tick=False):
        services.record_decision(ticket, actor=lead, decision="fixed", resolve_to="resolved")
    ticket.refresh_from_db()
    assert ticket.next_escalation_at is None
    assert sweep(at(1000)) == 0


def test_the_calendar_pauses_the_clock(p2, breakdown):
    """P2 works 06:00-22:00 on weekdays (Europe/Berlin) and is closed on Monday 2026-09-14."""
    calendar = WorkingCalendar.objects.create(
        site=p2, shifts={str(d): [["06:00", "22:00"]] for d in range(5)}
    )
    NonWorkingDay.objects.create(
        calendar=calendar, date=datetime.date(2026, 9, 14), reason="Werksferien"
    )
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    friday_evening = datetime.datetime(2026, 9, 11, 21, 50, tzinfo=berlin)
    ticket = raise_at(friday_evening, p2, _type("machine_breakdown"), severity="medium")
    # level 1 after 15 working minutes: 10 on Friday, the other 5 on Tuesday morning after the
    # weekend and the closed Monday; the acknowledge target (60 min) likewise
    assert ticket.next_escalation_at == datetime.datetime(2026, 9, 15, 6, 5, tzinfo=berlin)
    assert ticket.ack_due_at == datetime.datetime(2026, 9, 15, 6, 50, tzinfo=berlin)
    assert sweep(datetime.datetime(2026, 9, 12, 12, 0, tzinfo=berlin)) == 0
    assert sweep(datetime.datetime(2026, 9, 14, 12, 0, tzinfo=berlin)) == 0
    assert sweep(datetime.datetime(2026, 9, 15, 6, 4, tzinfo=berlin)) == 0
    assert sweep(datetime.datetime(2026, 9, 15, 6, 6, tzinfo=berlin)) == 1


def _type(code):
    from exceptions.models import ExceptionType

    return ExceptionType.objects.get(code=code)


def test_calendar_arithmetic_across_midnight_and_dst():
    shifts = {"0": [["06:00", "24:00"]], "1": [["00:00", "24:00"]], "5": [["00:00", "06:00"]]}
    cal = calendars.Calendar("Europe/Warsaw", shifts, set())
    warsaw = zoneinfo.ZoneInfo("Europe/Warsaw")
    monday = datetime.datetime(2026, 10, 19, 5, 0, tzinfo=warsaw)
    assert cal.add(monday, 60) == datetime.datetime(2026, 10, 19, 7, 0, tzinfo=warsaw)
    assert cal.between(monday, datetime.datetime(2026, 10, 20, 6, 0, tzinfo=warsaw)) == 24 * 60
    # Tuesday ends at midnight, Wednesday-Friday have no shifts here: next working time is Saturday
    tuesday_late = datetime.datetime(2026, 10, 20, 23, 30, tzinfo=warsaw)
    assert cal.add(tuesday_late, 60) == datetime.datetime(2026, 10, 24, 0, 30, tzinfo=warsaw)
    # DST ends on Sunday 2026-10-25: a 24/7 calendar still counts real minutes
    always = calendars.Calendar(
        "Europe/Warsaw", {str(d): [["00:00", "24:00"]] for d in range(7)}, set()
    )
    saturday = datetime.datetime(2026, 10, 24, 12, 0, tzinfo=warsaw)
    assert always.add(saturday, 24 * 60) == saturday.astimezone(UTC) + datetime.timedelta(hours=24)
    assert calendars.Calendar("UTC", {}, set()).add(monday, 1) is None  # never works: no deadline
    assert calendars.calendar_problems({"7": []}) and calendars.calendar_problems(
        {"0": [["22:00", "06:00"]]}
    )
    assert calendars.calendar_problems(shifts) == []


def test_pausing_state_stops_and_shifts_the_clock(p1, breakdown, user_in):
    workflow = breakdown.workflow
    waiting = WorkflowState.objects.create(
        workflow=workflow,
        code="waiting_supplier",
        name="Waiting on supplier",
        phase="active",
        pauses_sla=True,
    )
    WorkflowTransition.objects.create(
        workflow=workflow, to_state=waiting, label="Wait for supplier"
    )
    back = WorkflowTransition.objects.create(
        workflow=workflow, from_state=waiting, to_state=workflow.states.get(code="in_progress")
    )
    assert back.pk
    lead = user_in("supervisor", p1)
    ticket = raise_at(T0, p1, breakdown, severity="medium")
    with time_machine.travel(at(5), tick=False):
        ticket = services.transition_exception(ticket, actor=lead, to="waiting_supplier")
    assert (ticket.next_escalation_at, ticket.ack_due_at, ticket.resolve_due_at) == (
        None,
        None,
        None,
    )
    assert sweep(at(200)) == 0
    assert ExceptionTicket.objects.sla_breached(at(200)).count() == 0
    with time_machine.travel(at(100), tick=False):
        ticket = services.transition_exception(ticket, actor=lead, to="in_progress")
    # 95 paused minutes push everything back; acknowledged on entering "waiting", so only
    # the resolve level (240) is left: due at 240 + 95; resolve (medium: 480) at 480 + 95
    assert ticket.sla_paused_minutes == 95
    assert ticket.resolve_due_at == at(575)
    assert ticket.next_escalation_at == at(335)
    assert sweep(at(334)) == 0
    assert sweep(at(336)) == 1


def test_breached_and_due_soon_filters(p1, breakdown, user_in, client_for):
    late = raise_at(T0, p1, breakdown, severity="critical")  # ack due at +5
    soon = raise_at(at(50), p1, breakdown, severity="high")  # ack due at +65
    with time_machine.travel(at(56), tick=False):
        breached = set(ExceptionTicket.objects.sla_breached().values_list("pk", flat=True))
        due = set(ExceptionTicket.objects.sla_due_within(10).values_list("pk", flat=True))
        client = client_for(user_in("supervisor", p1))
        api_breached = {
            r["id"] for r in client.get("/api/v1/exceptions/?sla=breached").json()["results"]
        }
        api_soon = {
            r["id"] for r in client.get("/api/v1/exceptions/?due_within=10").json()["results"]
        }
    assert breached == api_breached == {late.pk}
    assert due == api_soon == {soon.pk}


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sweeps_fire_nothing_twice(p1, breakdown):
    tickets = [raise_at(T0, p1, breakdown, severity="medium") for _ in range(30)]
    counts = together(lambda: sweep(at(20)))
    assert sum(counts) == 30
    assert EscalationFiring.objects.count() == 30
    for ticket in tickets:
        assert escalations(ticket) == [(1, ["supervisor"])]


def test_manager_edits_the_clocks_in_the_admin(p1, user_in, client):
    manager = user_in("manager", p1, is_staff=True)
    client.force_login(manager)
    for url in [
        "/admin/exceptions/slapolicy/",
        "/admin/mes/workingcalendar/",
        "/admin/exceptions/escalationpolicy/",
        "/admin/exceptions/escalationpolicy/add/",
        "/admin/mes/workingcalendar/add/",
    ]:
        assert client.get(url).status_code == 200, url
    response = client.post(
        "/admin/mes/workingcalendar/add/",
        {
            "site": p1.pk,
            "shifts": '{"0": [["22:00", "06:00"]]}',
            "closed_days-TOTAL_FORMS": "0",
            "closed_days-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200 and "HH:MM" in response.content.decode()
    assert not WorkingCalendar.objects.exists()


def test_an_escalation_notifies_the_roles_at_the_site(p1, p2, breakdown, user_in, relay):
    from mes.models import Notification

    supervisor_p1, supervisor_p2 = user_in("supervisor", p1), user_in("supervisor", p2)
    ticket = raise_at(T0, p1, breakdown, severity="medium")
    relay()
    assert sweep(at(16)) == 1
    relay()
    notes = Notification.objects.filter(kind="escalated")
    assert [(n.user, n.related_id) for n in notes] == [(supervisor_p1, str(ticket.pk))]
    assert not Notification.objects.filter(user=supervisor_p2).exists()


def test_a_sweep_fires_in_bulk_with_history_and_versions(p1, breakdown):
    """Statements per sweep do not grow with the due tickets; each fired level still makes
    its own version, history row (with the reason), timeline entry and event."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def statements(due: int) -> int:
        tickets = [raise_at(T0, p1, breakdown, severity="medium") for _ in range(due)]
        ExceptionTicket.objects.filter(pk__in=[t.pk for t in tickets]).update(
            next_escalation_at=at(15)
        )
        with CaptureQueriesContext(connection) as captured:
            assert sweep(at(46)) == 2 * due  # levels 1 and 2, in one sweep
        return len(captured), tickets

    few, first = statements(2)
    ExceptionTicket.objects.filter(pk__in=[t.pk for t in first]).update(next_escalation_at=None)
    many, tickets = statements(12)
    assert many == few
    ticket = ExceptionTicket.objects.get(pk=tickets[0].pk)
    assert (ticket.version, ticket.severity) == (tickets[0].version + 2, "high")
    assert ticket.next_escalation_at == at(240)  # level 3 next
    reasons = list(
        ticket.history.order_by("history_id").values_list("history_change_reason", "version")
    )[-2:]
    assert reasons == [
        ("escalation level 1", tickets[0].version + 1),
        ("escalation level 2", tickets[0].version + 2),
    ]
    assert escalations(ticket) == [(1, ["supervisor"]), (2, ["supervisor", "manager"])]
    kinds = list(ticket.events.order_by("pk").values_list("kind", flat=True))[-3:]
    assert kinds == ["escalated", "severity_changed", "escalated"]
    events = OutboxEvent.objects.filter(type="exception.escalated", aggregate_id=str(ticket.pk))
    assert [(e.payload["level"], e.payload["severity"]) for e in events.order_by("pk")] == [
        (1, "medium"),
        (2, "high"),  # each event says the ticket as its level left it
    ]
