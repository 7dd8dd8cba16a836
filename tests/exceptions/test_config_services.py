"""Configuration is written through services: a reason in the history, an event, and what
depends on it follows from that event (open tickets rescheduled, projections moved)."""

import datetime

import pytest
import time_machine
from django.test import Client

from exceptions import services
from exceptions.models import EscalationPolicy, ExceptionTicket, ExceptionType, SlaPolicy
from mes.errors import NotPermitted
from mes.models import NonWorkingDay, OutboxEvent, WorkingCalendar
from mes.services import save_calendar
from tests.factories import make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("require_postgres")]

T0 = datetime.datetime(2026, 9, 8, 8, 0, tzinfo=datetime.UTC)  # a Tuesday


def at(minutes: float) -> datetime.datetime:
    return T0 + datetime.timedelta(minutes=minutes)


def raise_at(site, code, severity, **data):
    with time_machine.travel(T0, tick=False):
        return services.raise_exception(
            actor=None,
            exception_type=ExceptionType.objects.get(code=code),
            site=site,
            severity=severity,
            data=data,
        )


def fresh(ticket):
    return ExceptionTicket.objects.get(pk=ticket.pk)


def test_editing_an_sla_policy_in_the_admin_reschedules_the_open_tickets_it_governs(
    p1, user_in, relay
):
    breakdown = raise_at(p1, "machine_breakdown", "high", symptom="alarm")
    shortage = raise_at(p1, "material_shortage", "high", material="RM-1")
    medium = raise_at(p1, "machine_breakdown", "medium", symptom="alarm")
    done = raise_at(p1, "machine_breakdown", "high", symptom="leak")
    services.record_decision(done, actor=None, decision="fixed", resolve_to="resolved")
    relay()
    assert fresh(breakdown).ack_due_at == at(15)  # the seeded "high" policy: 15 / 240
    done_before = (fresh(done).ack_due_at, fresh(done).resolve_due_at)

    manager = user_in("manager", p1, is_staff=True)
    browser = Client()
    browser.force_login(manager)
    add = browser.post(
        "/admin/exceptions/slapolicy/add/",
        {
            "type": ExceptionType.objects.get(code="machine_breakdown").pk,
            "severity": "high",
            "acknowledge_minutes": "5",
            "resolve_minutes": "30",
            "is_active": "on",
            "change_reason": "Breakdowns stop the line: answer within 5 minutes",
        },
    )
    assert add.status_code == 302, add.content.decode()[:2000]
    relay()

    # the breakdowns of high severity got the new, more specific policy
    assert (fresh(breakdown).ack_due_at, fresh(breakdown).resolve_due_at) == (at(5), at(30))
    # what it does not govern keeps its clock: another type, another severity, a resolved one
    assert fresh(shortage).ack_due_at == at(15)
    assert fresh(medium).ack_due_at == at(60)
    assert (fresh(done).ack_due_at, fresh(done).resolve_due_at) == done_before

    policy = SlaPolicy.objects.get(type__code="machine_breakdown", severity="high")
    assert policy.history.get().history_change_reason == (
        "Breakdowns stop the line: answer within 5 minutes"
    )
    assert policy.history.get().history_user == manager
    event = OutboxEvent.objects.get(type="sla_policy.changed")
    assert (event.actor, event.payload["created"]) == (manager, True)

    # widening it again: the edit is announced with what it was, and the clocks follow
    change = browser.post(
        f"/admin/exceptions/slapolicy/{policy.pk}/change/",
        {
            "type": policy.type_id,
            "severity": "high",
            "acknowledge_minutes": "10",
            "resolve_minutes": "30",
            "is_active": "on",
        },
    )
    assert change.status_code == 302
    relay()
    assert fresh(breakdown).ack_due_at == at(10)
    edit = OutboxEvent.objects.filter(type="sla_policy.changed").last()
    assert edit.payload["changed"] == ["acknowledge_minutes"]
    assert edit.payload["previous"] == {"acknowledge_minutes": 5}
    assert policy.history.first().history_change_reason == (
        "Changed in the admin: Acknowledge within (min)."
    )


def test_a_new_calendar_moves_the_sites_clocks_and_projections(p1, user_in, relay):
    ticket = raise_at(p1, "machine_breakdown", "high", symptom="alarm")
    relay()
    assert fresh(ticket).resolve_due_at == at(240)  # around the clock: no calendar yet
    manager = user_in("manager", p1)
    calendar = WorkingCalendar(site=p1, shifts={"1": [["08:00", "10:00"]]})  # Tuesdays 2 h
    closed = NonWorkingDay(calendar=calendar, date=datetime.date(2026, 9, 15), reason="Audit")
    with time_machine.travel(at(1), tick=False):
        save_calendar(calendar, actor=manager, reason="Short week", children=[closed])
        relay()
    # raised at 10:00 Warsaw time, after Tuesday's window (08:00-10:00); 240 working minutes:
    # the 15th is closed, 2 h on the 22nd, 2 h on the 29th, ending 10:00 Warsaw (08:00 UTC)
    assert fresh(ticket).resolve_due_at == datetime.datetime(2026, 9, 29, 8, 0, tzinfo=datetime.UTC)
    assert calendar.history.get().history_change_reason == "Short week"
    assert closed.history.get().history_change_reason == "Short week"
    assert OutboxEvent.objects.filter(type="calendar.changed", site=p1).count() == 1


def test_an_escalation_policy_edit_reschedules_its_tickets(p1, user_in, relay):
    ticket = raise_at(p1, "machine_breakdown", "medium", symptom="alarm")
    relay()
    assert fresh(ticket).next_escalation_at == at(15)
    policy = EscalationPolicy.objects.get(name="Default ladder")
    first = policy.levels.get(level=1)
    first.after_minutes = 25
    services.save_escalation_policy(
        policy, actor=user_in("manager", p1), reason="Give the floor more time", children=[first]
    )
    relay()
    assert fresh(ticket).next_escalation_at == at(25)
    assert first.history.first().history_change_reason == "Give the floor more time"


def test_only_who_may_configure_saves_configuration(p1, p2, user_in):
    policy = SlaPolicy.objects.get(type__isnull=True, severity="high")
    policy.acknowledge_minutes = 1
    with pytest.raises(NotPermitted):
        services.save_sla_policy(policy, actor=user_in("planner", p1), reason="mine")
    with pytest.raises(NotPermitted) as refused:
        save_calendar(WorkingCalendar(site=p2, shifts={}), actor=user_in("manager", p1))
    assert refused.value.code == "wrong_site"
    assert not OutboxEvent.objects.filter(type__in=["sla_policy.changed", "calendar.changed"])
    assert SlaPolicy.objects.get(pk=policy.pk).acknowledge_minutes == 15


def test_a_history_revert_is_refused_so_nothing_is_written_past_the_service(p1, as_manager):
    policy = SlaPolicy.objects.get(type__isnull=True, severity="high")
    services.save_sla_policy(policy, actor=None, reason="seed")  # a history row to revert to
    version = policy.history.first()
    url = f"/admin/exceptions/slapolicy/{policy.pk}/history/{version.pk}/"
    assert as_manager.get(url).status_code == 200  # reading the old version is fine
    before = OutboxEvent.objects.count()
    response = as_manager.post(
        url, {"severity": "high", "acknowledge_minutes": "3", "resolve_minutes": "240"}
    )
    assert response.status_code == 403
    assert SlaPolicy.objects.get(pk=policy.pk).acknowledge_minutes == 15
    assert OutboxEvent.objects.count() == before


def test_a_refused_save_in_the_list_is_said_not_a_500(p1, as_manager, monkeypatch):
    from exceptions.admin.sla import SlaPolicyAdmin
    from mes.errors import InvalidInput

    def refuse(policy, **kwargs):
        raise InvalidInput("Not on a Sunday.", code="invalid")

    monkeypatch.setattr(SlaPolicyAdmin, "save_service", staticmethod(refuse))
    policy = SlaPolicy.objects.get(type__isnull=True, severity="high")
    rows = list(SlaPolicy.objects.order_by("pk"))
    data = {
        "form-TOTAL_FORMS": str(len(rows)),
        "form-INITIAL_FORMS": str(len(rows)),
        "_save": "Save",
    }
    for n, row in enumerate(rows):
        data[f"form-{n}-id"] = str(row.pk)
        data[f"form-{n}-acknowledge_minutes"] = str(row.acknowledge_minutes or "")
        data[f"form-{n}-resolve_minutes"] = str(row.resolve_minutes or "")
        data[f"form-{n}-is_active"] = "on"
        if row.pk == policy.pk:
            data[f"form-{n}-acknowledge_minutes"] = "1"
    response = as_manager.post("/admin/exceptions/slapolicy/", data, follow=True)
    assert response.status_code == 200
    assert "Not on a Sunday." in response.content.decode()
    assert SlaPolicy.objects.get(pk=policy.pk).acknowledge_minutes == 15


def test_a_calendar_stays_with_its_site_and_auditors_see_no_reason_field(p1, p2, as_manager):
    calendar = WorkingCalendar(site=p1, shifts={"0": [["06:00", "14:00"]]})
    save_calendar(calendar, actor=None, reason="x")
    page = as_manager.get(f"/admin/mes/workingcalendar/{calendar.pk}/change/").content.decode()
    assert 'name="site"' not in page  # read-only once created
    assert 'name="change_reason"' in page
    auditor = make_user("auditor_1", "auditor", is_staff=True)
    browser = Client()
    browser.force_login(auditor)
    policy = SlaPolicy.objects.first()
    html = browser.get(f"/admin/exceptions/slapolicy/{policy.pk}/change/").content.decode()
    assert "Reason for the change" not in html
