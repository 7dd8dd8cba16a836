"""Configuration does what the manager meant, visibly: a type's own escalation ladder wins over
the catch-all (and the policies page says where policies meet), the ticket page shows the SLA
policy, ladder and due times it got, only the final queue hears of a routing, and the
timeline says from -> to."""

import pytest
from django.urls import reverse

from exceptions import services
from exceptions.models import (
    EscalationLevel,
    EscalationPolicy,
    ExceptionTicket,
    ExceptionType,
    RoutingRule,
)
from exceptions.sla import overlaps
from mes.models import Notification
from tests.exceptions.admin_common import _url

pytestmark = pytest.mark.django_db


@pytest.fixture
def forklift(db):
    workflow = ExceptionType.objects.get(code="safety").workflow
    return ExceptionType.objects.create(
        code="forklift_damage", name="Forklift damage", category="other", workflow=workflow
    )


@pytest.fixture
def forklift_ladder(forklift):
    policy = EscalationPolicy.objects.create(name="Forklift ladder", order=200)
    policy.types.set([forklift])
    EscalationLevel.objects.create(
        policy=policy, level=1, clock="acknowledge", after_minutes=30, notify_roles=["manager"]
    )
    return policy


def _raise(site, exception_type, **kwargs):
    return services.raise_exception(actor=None, exception_type=exception_type, site=site, **kwargs)


def test_a_types_own_ladder_wins_over_the_catch_all_whatever_the_order(p1, forklift_ladder):
    default = EscalationPolicy.objects.get(name="Default ladder")
    assert default.order < forklift_ladder.order  # the older catch-all comes first in order
    ticket = _raise(p1, forklift_ladder.types.get())
    assert ticket.escalation_policy == forklift_ladder
    other = _raise(
        p1, ExceptionType.objects.get(code="machine_breakdown"), data={"symptom": "alarm"}
    )
    assert other.escalation_policy == default


def test_a_catch_all_told_to_win_does(p1, forklift_ladder):
    EscalationPolicy.objects.filter(name="Default ladder").update(wins_over_specific=True)
    ticket = _raise(p1, forklift_ladder.types.get())
    assert ticket.escalation_policy.name == "Default ladder"


def test_where_policies_meet_is_said_on_both(forklift, forklift_ladder):
    default = EscalationPolicy.objects.get(name="Default ladder")
    types = ExceptionType.objects.filter(is_active=True)
    assert overlaps(forklift_ladder, types) == {
        "wins": {"Default ladder": ["Forklift damage"]},
        "loses": {},
    }
    assert overlaps(default, types) == {
        "wins": {},
        "loses": {"Forklift ladder": ["Forklift damage"]},
    }


def test_the_policy_page_warns_of_a_ladder_that_never_applies(
    as_manager, forklift, forklift_ladder
):
    shadowed = EscalationPolicy.objects.create(name="Forgotten ladder", order=300)
    shadowed.types.set([forklift])
    html = as_manager.get(_url(EscalationPolicy, "change", shadowed.pk)).content.decode()
    assert "This policy never applies" in html
    assert "Loses to <strong>Forklift ladder</strong> for Forklift damage" in html
    html = as_manager.get(_url(EscalationPolicy, "change", forklift_ladder.pk)).content.decode()
    assert "Wins over <strong>Default ladder</strong> for Forklift damage" in html
    assert "never applies" not in html


def test_the_ticket_page_shows_its_policy_ladder_and_due_times(
    p1, client, user_in, forklift_ladder
):
    ticket = _raise(p1, forklift_ladder.types.get(), severity="high")
    client.force_login(user_in("supervisor", p1))
    html = client.get(reverse("exceptions:detail", args=[ticket.pk])).content.decode()
    assert 'id="clock"' in html
    assert "Forklift ladder" in html
    assert "Level 1: after 30 min without acknowledge → manager" in html
    assert "Acknowledge by" in html and "Resolve by" in html
    assert ticket.ack_due_at is not None and "due " in html


def test_only_the_final_queue_hears_of_a_routing(p1, user_in, forklift, relay):
    supervisor, fitter = user_in("supervisor", p1), user_in("maintenance", p1)
    everything = RoutingRule.objects.create(
        name="Everything to the supervisor first",
        order=1,
        actions=[{"action": "assign_role", "role": "supervisor"}],
    )
    forklifts = RoutingRule.objects.create(
        name="Forklifts to maintenance",
        order=2,
        actions=[{"action": "assign_role", "role": "maintenance"}],
    )
    forklifts.types.set([forklift])
    ticket = _raise(p1, forklift)
    relay()
    assert ExceptionTicket.objects.get(pk=ticket.pk).queue.name == "maintenance"
    routed = Notification.objects.filter(kind="routed")
    assert [(n.user, n.title.split(":")[0]) for n in routed] == [
        (fitter, "In the maintenance queue")
    ]
    assert not Notification.objects.filter(user=supervisor, kind="routed").exists()
    assert everything.pk  # it did route first: the timeline keeps both steps
    steps = list(ExceptionTicket.objects.get(pk=ticket.pk).events.filter(kind="assigned"))
    assert [e.message for e in steps] == ["supervisor", "maintenance"]


def test_the_timeline_says_from_and_to(p1, client, user_in, forklift):
    supervisor = user_in("supervisor", p1)
    ticket = _raise(p1, forklift, severity="low")
    services.transition_exception(ticket, actor=supervisor, to="in_progress")
    client.force_login(supervisor)
    html = client.get(reverse("exceptions:detail", args=[ticket.pk])).content.decode()
    assert '<span class="event-change">Open → In progress</span>' in html


def test_the_admin_shows_times_in_the_plants_zone(as_manager, p1, forklift):
    import datetime

    import time_machine

    with time_machine.travel(datetime.datetime(2026, 7, 1, 8, 0, tzinfo=datetime.UTC), tick=False):
        ticket = _raise(p1, forklift)
    html = as_manager.get(_url(ExceptionTicket, "changelist")).content.decode()
    assert ticket.number in html and "Times in Europe/Warsaw" in html
    assert "July 1, 2026, 10 a.m." in html and "8 a.m." not in html  # CEST, not UTC


def test_a_user_of_plants_in_several_zones_sees_utc_said_so(client, p1, p2, user_in):
    client.force_login(user_in("manager", p1, p2, is_staff=True))
    html = client.get(reverse("admin:index")).content.decode()
    assert "Times in UTC" in html
