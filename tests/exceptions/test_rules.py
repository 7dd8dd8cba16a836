"""Routing rules: conditions, actions in order with timeline events naming the rule, the shortage
hold and its release, stop-processing, failures, validation and the dry run."""

import pytest

from exceptions import rule_registry, rules, services
from exceptions.models import ExceptionTicket, ExceptionType, RoutingRule
from mes.models import OutboxEvent, WorkOrder
from tests.factories import WorkCenterFactory, make_work_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("require_postgres")]


def raise_(site, exception_type, actor=None, **kwargs):
    kwargs.setdefault(
        "data",
        {"material": "RM-30062", "qty_missing": 40}
        if exception_type.code == "material_shortage"
        else {"symptom": "alarm"},
    )
    return services.raise_exception(actor=actor, exception_type=exception_type, site=site, **kwargs)


def rule_events(ticket):
    return [
        (e.kind, e.rule.name if e.rule else None)
        for e in ExceptionTicket.objects.get(pk=ticket.pk).events.all()
    ]


def test_shortage_on_running_order_is_routed_and_holds_it(p1, user_in, shortage, relay):
    wo = make_work_order(p1, status="in_progress")
    ticket = raise_(p1, shortage, user_in("supervisor", p1), work_order=wo)
    relay()
    ticket.refresh_from_db()
    wo.refresh_from_db()
    assert ticket.queue.name == "procurement"
    assert ticket.holds_work_order
    assert (wo.status, wo.status_before_hold) == ("on_hold", "in_progress")
    assert rule_events(ticket) == [
        ("raised", None),
        ("assigned", "Shortages go to procurement"),
        ("notified", "Shortages go to procurement"),
        ("work_order_held", "A shortage holds its work order"),
    ]
    assert ticket.events.get(kind="notified").data["roles"] == ["procurement", "planner"]
    held = wo.history.first()
    assert held.history_change_reason.startswith(f"{ticket.number}: A shortage holds")
    assert OutboxEvent.objects.filter(type="work_order.held").count() == 1


def test_resolving_the_shortage_returns_the_order_to_its_previous_state(
    p1, user_in, shortage, relay
):
    for previous in ("released", "in_progress"):
        wo = make_work_order(p1, status=previous)
        ticket = raise_(p1, shortage, work_order=wo)
        relay()
        assert WorkOrder.objects.get(pk=wo.pk).status == "on_hold"
        services.record_decision(
            ticket,
            actor=user_in("procurement", p1),
            decision="Delivered by courier",
            resolve_to="resolved",
        )
        relay()
        assert WorkOrder.objects.get(pk=wo.pk).status == previous
        assert rule_events(ticket)[-1] == (
            "work_order_resumed",
            "Resume the work order when the exception that held it is resolved",
        )
        assert not ExceptionTicket.objects.get(pk=ticket.pk).holds_work_order


def test_order_stays_held_while_another_shortage_holds_it(p1, user_in, shortage, relay):
    wo = make_work_order(p1, status="in_progress")
    first = raise_(p1, shortage, work_order=wo)
    relay()
    second = raise_(p1, shortage, work_order=wo)
    relay()
    # the order was already on hold: the second shortage did not hold it again
    assert not ExceptionTicket.objects.get(pk=second.pk).holds_work_order
    buyer = user_in("procurement", p1)
    services.record_decision(first, actor=buyer, decision="ok", resolve_to="resolved")
    relay()
    assert WorkOrder.objects.get(pk=wo.pk).status == "in_progress"
    services.record_decision(second, actor=buyer, decision="ok", resolve_to="resolved")
    relay()
    assert WorkOrder.objects.get(pk=wo.pk).status == "in_progress"


def test_shortage_without_holdable_order_only_routes(p1, shortage, relay):
    wo = make_work_order(p1, status="planned")
    ticket = raise_(p1, shortage, work_order=wo)
    relay()
    assert WorkOrder.objects.get(pk=wo.pk).status == "planned"
    assert "work_order_held" not in [k for k, _r in rule_events(ticket)]


def test_breakdown_goes_to_maintenance_and_safety_becomes_critical(p1, breakdown, relay):
    wo = make_work_order(p1, status="in_progress")
    ticket = raise_(p1, breakdown, work_order=wo)
    safety = services.raise_exception(
        actor=None,
        exception_type=ExceptionType.objects.get(code="safety"),
        site=p1,
        data={"hazard": "spill"},
        severity="low",
    )
    relay()
    assert ExceptionTicket.objects.get(pk=ticket.pk).queue.name == "maintenance"
    assert WorkOrder.objects.get(pk=wo.pk).status == "in_progress"
    safety.refresh_from_db()
    assert (safety.severity, safety.queue.name) == ("critical", "supervisor")
    assert ("severity_changed", "Safety is critical and goes to the supervisor") in rule_events(
        safety
    )


def test_rules_fire_in_order_and_stop_processing(p1, breakdown, relay):
    RoutingRule.objects.filter(trigger="raised").update(is_active=False)
    late = RoutingRule.objects.create(
        name="late", order=30, actions=[{"action": "assign_role", "role": "planner"}]
    )
    early = RoutingRule.objects.create(
        name="early", order=10, actions=[{"action": "assign_role", "role": "quality"}]
    )
    middle = RoutingRule.objects.create(
        name="middle",
        order=20,
        severities=["critical"],
        actions=[{"action": "set_severity", "severity": "low"}],
    )
    ticket = raise_(p1, breakdown, severity="critical")
    relay()
    assert [r for _k, r in rule_events(ticket)[1:]] == ["early", "middle", "late"]
    assert ExceptionTicket.objects.get(pk=ticket.pk).queue.name == "planner"
    middle.stop_processing = True
    middle.save()
    ticket = raise_(p1, breakdown, severity="critical")
    relay()
    assert [r for _k, r in rule_events(ticket)[1:]] == ["early", "middle"]
    assert ExceptionTicket.objects.get(pk=ticket.pk).queue.name == "quality"
    assert late.pk and early.pk


def test_conditions_on_site_work_center_type_and_fields(p1, p2, shortage, breakdown, relay):
    RoutingRule.objects.filter(trigger="raised").update(is_active=False)
    press = WorkCenterFactory(site=p1, code="P1-PRA")
    rule = RoutingRule.objects.create(
        name="big shortage at the press",
        order=1,
        field_conditions=[
            {"field": "qty_missing", "op": "greater", "value": 100},
            {"field": "material", "op": "contains", "value": "rm-"},
        ],
        actions=[{"action": "mark_for_erp"}],
    )
    rule.sites.set([p1])
    rule.work_centers.set([press])
    rule.types.set([shortage])
    hits = [
        raise_(p1, shortage, work_center=press, data={"material": "RM-1", "qty_missing": 500}),
    ]
    misses = [
        raise_(p1, shortage, work_center=press, data={"material": "RM-1", "qty_missing": 50}),
        raise_(p1, shortage, work_center=press, data={"material": "XX-1", "qty_missing": 500}),
        raise_(p1, shortage, work_center=press, data={"material": "RM-1"}),
        raise_(p1, shortage, data={"material": "RM-1", "qty_missing": 500}),
        raise_(p2, shortage, data={"material": "RM-1", "qty_missing": 500}),
        raise_(p1, breakdown, work_center=press),
    ]
    relay()
    assert [ExceptionTicket.objects.get(pk=t.pk).post_to_erp for t in hits] == [True]
    assert [ExceptionTicket.objects.get(pk=t.pk).post_to_erp for t in misses] == [False] * 6


@pytest.mark.parametrize(
    ("op", "actual", "expected", "result"),
    [
        ("equals", "alarm", "alarm", True),
        ("equals", 5, 5.0, True),
        ("equals", "a", "b", False),
        ("not_equals", "a", "b", True),
        ("in", "leak", ["leak", "alarm"], True),
        ("in", "leak", "leak", False),
        ("greater", 10, 5, True),
        ("greater", 5, 5, False),
        ("greater", "x", 5, False),
        ("greater", True, 0, False),
        ("less", 2.5, "3", True),
        ("contains", "Brak pręta C45", "pręta", True),
        ("contains", ["a", "b"], "b", True),
        ("contains", 5, "5", False),
    ],
)
def test_compare(op, actual, expected, result):
    assert rule_registry.compare(op, actual, expected) is result


def test_updated_trigger_reacts_to_user_changes_not_to_rules(p1, user_in, breakdown, relay):
    RoutingRule.objects.create(
        name="escalate critical",
        order=1,
        trigger="updated",
        severities=["critical"],
        actions=[{"action": "assign_role", "role": "manager"}],
    )
    lead = user_in("supervisor", p1)
    ticket = raise_(p1, breakdown, lead)
    relay()
    assert ExceptionTicket.objects.get(pk=ticket.pk).queue.name == "maintenance"
    services.update_exception(ticket, actor=lead, severity="critical")
    relay()
    assert ExceptionTicket.objects.get(pk=ticket.pk).queue.name == "manager"
    assert rule_events(ticket)[-1] == ("assigned", "escalate critical")


def test_a_failing_action_is_recorded_and_the_rest_runs(p1, breakdown, relay):
    from django.contrib.auth.models import User

    User.objects.create_user("ghost", is_active=False)
    RoutingRule.objects.filter(trigger="raised").update(is_active=False)
    rule = RoutingRule(
        name="broken",
        order=1,
        actions=[
            {"action": "assign_user", "username": "ghost"},
            {"action": "assign_role", "role": "quality"},
        ],
    )
    rule.save()
    ticket = raise_(p1, breakdown)
    relay()
    assert [k for k, _r in rule_events(ticket)] == ["raised", "rule_failed", "assigned"]
    assert ExceptionTicket.objects.get(pk=ticket.pk).queue.name == "quality"


def test_relaying_twice_applies_rules_once(p1, shortage, relay):
    from mes.tasks import relay_outbox_event

    wo = make_work_order(p1, status="in_progress")
    ticket = raise_(p1, shortage, work_order=wo)
    relay()
    raised = OutboxEvent.objects.get(type="exception.raised")
    OutboxEvent.objects.filter(pk=raised.pk).update(delivered_at=None)
    relay_outbox_event.delay(raised.pk)
    assert len(rule_events(ticket)) == 4


@pytest.mark.parametrize(
    ("field", "value", "message_field"),
    [
        ("actions", [], "actions"),
        ("actions", [{"action": "teleport"}], "actions"),
        ("actions", [{"action": "assign_role", "role": "wizard"}], "actions"),
        ("actions", [{"action": "assign_role"}], "actions"),
        ("actions", [{"action": "notify_roles", "roles": "planner"}], "actions"),
        ("actions", [{"action": "set_severity", "severity": "urgent"}], "actions"),
        ("actions", [{"action": "assign_user", "username": 5}], "actions"),  # unknown: service
        ("categories", ["shortages"], "categories"),
        ("severities", ["urgent"], "severities"),
        ("field_conditions", [{"field": "qty", "op": "approx", "value": 1}], "field_conditions"),
        ("field_conditions", [{"field": "qty", "op": "equals"}], "field_conditions"),
    ],
)
def test_invalid_rules_are_refused(db, field, value, message_field):
    from django.core.exceptions import ValidationError

    rule = RoutingRule(name="r", actions=[{"action": "mark_for_erp"}])
    setattr(rule, field, value)
    with pytest.raises(ValidationError) as err:
        rule.full_clean()
    assert message_field in err.value.message_dict


def test_dry_run_shows_matches_and_writes_nothing(p1, shortage, breakdown):
    sample = ExceptionTicket(site=p1, type=shortage, severity="high", data={"material": "RM-1"})
    counts = (
        ExceptionTicket.objects.count(),
        OutboxEvent.objects.count(),
        WorkOrder.objects.count(),
    )
    outcomes = {o.rule.name: o for o in rules.dry_run(sample)}
    assert outcomes["Shortages go to procurement"].matched
    assert outcomes["A shortage holds its work order"].actions == ["Put the work order on hold"]
    assert not outcomes["Breakdowns go to maintenance"].matched
    other = {
        o.rule.name: o.matched
        for o in rules.dry_run(ExceptionTicket(site=p1, type=breakdown, severity="high", data={}))
    }
    assert other["Breakdowns go to maintenance"] and not other["Shortages go to procurement"]
    assert (
        ExceptionTicket.objects.count(),
        OutboxEvent.objects.count(),
        WorkOrder.objects.count(),
    ) == counts


def test_one_evaluation_sees_what_its_earlier_rules_and_actions_did(p1, breakdown, relay):
    """The ticket is locked once per evaluation: a later rule matches on the severity an
    earlier one set, and an action that changes the ticket another way is seen too."""
    from exceptions.services.base import lock_ticket, save_ticket

    def elsewhere(ticket, rule, params):
        other = lock_ticket(ticket.pk)  # a plugin's own path, not the evaluation's instance
        other.description = "changed elsewhere"
        save_ticket(other, actor=None, reason="plugin", fields=["description"])
        return "changed elsewhere"

    rule_registry.actions.register("test_elsewhere", elsewhere, label="elsewhere")
    try:
        RoutingRule.objects.filter(trigger="raised").update(is_active=False)
        RoutingRule.objects.create(
            name="first",
            order=10,
            actions=[
                {"action": "set_severity", "severity": "critical"},
                {"action": "test_elsewhere"},
            ],
        )
        RoutingRule.objects.create(
            name="second",
            order=20,
            severities=["critical"],
            actions=[{"action": "assign_role", "role": "quality"}],
        )
        ticket = raise_(p1, breakdown, severity="low")
        relay()
    finally:
        rule_registry.actions.unregister("test_elsewhere")
    stored = ExceptionTicket.objects.get(pk=ticket.pk)
    assert (stored.severity, stored.queue.name) == ("critical", "quality")
    assert stored.description == "changed elsewhere"  # not overwritten by a later save
    # each change one version and one history row: none lost on a stale instance
    assert stored.version == ticket.version + 3
    assert stored.history.count() == 4
