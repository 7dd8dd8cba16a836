"""The admin of the exception tickets: the routing dry run, read-only scoped tickets with
service-backed actions, auditors."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from exceptions import services
from exceptions.models import (
    ExceptionTicket,
    ExceptionType,
    RoutingRule,
    Workflow,
)
from mes.access import grant_site_access
from mes.models import OutboxEvent
from tests.exceptions.admin_common import (
    DRY_RUN,
    _messages,
    _row_counts,
    _rule_data,
    _type_data,
    _url,
)
from tests.factories import SiteFactory, WorkCenterFactory, make_work_order

pytestmark = pytest.mark.django_db


# --- dry run -------------------------------------------------------------------------------


def _dry_run(client, **params):
    response = client.get(reverse(DRY_RUN), {"trigger": "raised", **params})
    assert response.status_code == 200
    return response


def _matched(response) -> set[str]:
    return {row.rule.name for row in response.context["rows"] if row.matched}


def test_dry_run_of_a_sample_shortage_shows_the_shortage_rules_and_writes_nothing(
    as_manager, p1, shortage
):
    wc = WorkCenterFactory(site=p1)
    before = _row_counts()

    response = _dry_run(
        as_manager,
        type=shortage.pk,
        site=p1.pk,
        work_center=wc.pk,
        data='{"material": "RM-1", "qty_missing": 5}',
    )

    assert _row_counts() == before
    assert _matched(response) == {"Shortages go to procurement", "A shortage holds its work order"}
    rows = {row.rule.name: row for row in response.context["rows"]}
    assert [label for label, _entry in rows["A shortage holds its work order"].actions] == [
        "Put the work order on hold"
    ]
    assert "categories" in rows["Breakdowns go to maintenance"].failed
    assert "Put the work order on hold" in response.content.decode()


def test_dry_run_of_a_breakdown_does_not_match_the_shortage_rules(as_manager, p1, breakdown):
    before = _row_counts()

    response = _dry_run(
        as_manager, type=breakdown.pk, site=p1.pk, data='{"symptom": "alarm"}', severity="low"
    )

    assert _row_counts() == before
    assert _matched(response) == {"Breakdowns go to maintenance"}
    assert response.context["subject"].severity == "low"


def test_dry_run_stops_after_a_stopping_rule_and_evaluates_field_conditions(
    as_manager, p1, shortage
):
    RoutingRule.objects.create(
        name="Huge shortage: planner only",
        order=15,
        stop_processing=True,
        field_conditions=[{"field": "qty_missing", "op": "greater", "value": 100}],
        actions=[{"action": "assign_role", "role": "planner"}],
    )

    small = _dry_run(
        as_manager, type=shortage.pk, site=p1.pk, data='{"material": "X", "qty_missing": 5}'
    )
    huge = _dry_run(
        as_manager, type=shortage.pk, site=p1.pk, data='{"material": "X", "qty_missing": 500}'
    )

    assert "Huge shortage: planner only" not in _matched(small)
    assert _matched(huge) == {"Huge shortage: planner only"}
    assert all(row.skipped for row in huge.context["rows"] if row.rule.order > 15)


def test_dry_run_of_an_existing_exception_and_of_another_sites(
    as_manager, p1, p2, shortage, raise_at
):
    mine = raise_at(p1, shortage)
    theirs = raise_at(p2, shortage)
    before = _row_counts()

    response = _dry_run(as_manager, ticket=mine.number)
    refused = _dry_run(as_manager, ticket=theirs.number)

    assert _row_counts() == before
    assert response.context["subject"] == mine
    assert "Shortages go to procurement" in _matched(response)
    assert refused.context["rows"] is None
    assert "ticket" in refused.context["form"].errors


def test_dry_run_sample_needs_a_type_and_a_visible_site(as_manager, p2, shortage):
    response = _dry_run(as_manager, type=shortage.pk, site=p2.pk)

    assert response.context["rows"] is None
    assert "site" in response.context["form"].errors


# --- tickets -------------------------------------------------------------------------------


def test_ticket_page_is_read_only_with_its_timeline(as_manager, p1, shortage, raise_at, relay):
    ticket = raise_at(p1, shortage, work_order=make_work_order(p1, status="in_progress"))
    relay()

    response = as_manager.get(_url(ExceptionTicket, "change", ticket.pk))
    post = as_manager.post(_url(ExceptionTicket, "change", ticket.pk), {"severity": "low"})

    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="_save"' not in html
    assert "Shortages go to procurement" in html  # the timeline names the rule
    assert "Work order held" in html
    timeline = response.context["inline_admin_formsets"][0]
    assert not timeline.has_add_permission and not timeline.has_change_permission
    assert post.status_code == 403
    assert as_manager.get(_url(ExceptionTicket, "add")).status_code == 403


def test_manager_of_p1_does_not_see_p2_tickets(as_manager, manager, p1, p2, shortage, raise_at):
    p3 = SiteFactory(code="P3")
    grant_site_access(manager, p3)
    also_mine = raise_at(p3, shortage)
    mine = raise_at(p1, shortage)
    theirs = raise_at(p2, shortage)

    changelist = as_manager.get(_url(ExceptionTicket, "changelist"))
    change = as_manager.get(_url(ExceptionTicket, "change", theirs.pk))
    history = as_manager.get(_url(ExceptionTicket, "history", theirs.pk))
    search = as_manager.get(_url(ExceptionTicket, "changelist"), {"q": theirs.number})

    assert {t.pk for t in changelist.context["cl"].result_list} == {mine.pk, also_mine.pk}
    assert change.status_code == 302
    assert history.status_code == 404
    assert list(search.context["cl"].result_list) == []
    site_filter = next(
        f for f in changelist.context["cl"].filter_specs if getattr(f, "field_path", "") == "site"
    )
    assert {pk for pk, _label in site_filter.lookup_choices} == {p1.pk, p3.pk}


def test_tickets_filter_on_category_and_search_by_work_order(
    as_manager, p1, shortage, breakdown, raise_at
):
    wo = make_work_order(p1, status="in_progress")
    short = raise_at(p1, shortage, work_order=wo)
    broken = raise_at(p1, breakdown, data={"symptom": "leak"})

    by_category = as_manager.get(
        _url(ExceptionTicket, "changelist"), {"type__category": "downtime"}
    )
    by_order = as_manager.get(_url(ExceptionTicket, "changelist"), {"q": wo.erp_number})

    assert list(by_category.context["cl"].result_list) == [broken]
    assert list(by_order.context["cl"].result_list) == [short]


def _action(client, action, tickets, **extra):
    data = {"action": action, ACTION_CHECKBOX_NAME: [t.pk for t in tickets], **extra}
    return client.post(_url(ExceptionTicket, "changelist"), data)


def test_acknowledge_goes_through_the_workflow_service_and_reports_each_refusal(
    as_manager, manager, p1, p2, shortage, raise_at
):
    fresh = raise_at(p1, shortage)
    cancelled = services.transition_exception(
        raise_at(p1, shortage), actor=None, to="cancelled", reason="duplicate"
    )
    theirs = raise_at(p2, shortage)

    response = _action(as_manager, "acknowledge", [fresh, cancelled, theirs])

    for ticket in (fresh, cancelled, theirs):
        ticket.refresh_from_db()
    assert fresh.status == "acknowledged"
    assert fresh.history.order_by("-history_id").first().history_user == manager
    assert fresh.events.filter(kind="acknowledged", actor=manager).exists()
    assert OutboxEvent.objects.filter(
        type="exception.status_changed", aggregate_id=str(fresh.pk), actor=manager
    ).exists()
    assert cancelled.status == "cancelled"
    assert theirs.status == "open"  # another site's id is simply not in the queryset
    messages = _messages(response)
    assert "1 exception acknowledged." in messages
    assert any(m.startswith(f"{cancelled.number}: ") for m in messages)


def test_cancel_asks_for_a_reason_then_cancels(as_manager, p1, shortage, raise_at):
    ticket = raise_at(p1, shortage)

    asked = _action(as_manager, "cancel", [ticket], index="0")
    ticket.refresh_from_db()
    status_after_asking = ticket.status
    done = _action(as_manager, "cancel", [ticket], post="yes", reason="Raised twice")

    ticket.refresh_from_db()
    assert asked.status_code == 200
    assert "reason" in asked.context["form"].fields
    assert status_after_asking == "open"
    assert done.status_code == 302
    assert ticket.status == "cancelled"
    assert ticket.events.filter(kind="status_changed", message="Raised twice").exists()


# --- auditors ------------------------------------------------------------------------------


def test_auditor_reads_everything_and_changes_nothing(client, user_in, p1, p2, shortage, raise_at):
    auditor = user_in("auditor", is_staff=True)
    client.force_login(auditor)
    at_p1, at_p2 = raise_at(p1, shortage), raise_at(p2, shortage)
    rule = RoutingRule.objects.get(order=20, trigger="raised")
    workflow = shortage.workflow

    pages = [
        client.get(_url(model, view, *args))
        for model, view, args in [
            (ExceptionTicket, "changelist", ()),
            (ExceptionTicket, "change", (at_p2.pk,)),
            (ExceptionType, "change", (shortage.pk,)),
            (Workflow, "change", (workflow.pk,)),
            (RoutingRule, "change", (rule.pk,)),
            (RoutingRule, "history", (rule.pk,)),
        ]
    ]
    posts = [
        client.post(_url(ExceptionType, "change", shortage.pk), _type_data(shortage, name="X")),
        client.post(_url(RoutingRule, "change", rule.pk), _rule_data(name="X")),
        client.post(_url(RoutingRule, "add"), _rule_data()),
        client.post(_url(Workflow, "change", workflow.pk), {"code": "x", "name": "X"}),
        client.post(_url(ExceptionTicket, "change", at_p1.pk), {"severity": "low"}),
    ]
    acknowledge = _action(client, "acknowledge", [at_p1, at_p2])
    dry_run = _dry_run(client, type=shortage.pk, site=p2.pk, data='{"material": "X"}')

    assert all(page.status_code == 200 for page in pages), [p.status_code for p in pages]
    assert {at_p1.pk, at_p2.pk} <= {t.pk for t in pages[0].context["cl"].result_list}
    assert pages[0].context["action_form"] is None
    assert all('name="_save"' not in page.content.decode() for page in pages[1:5])
    assert [post.status_code for post in posts] == [403] * len(posts)
    shortage.refresh_from_db()
    rule.refresh_from_db()
    at_p1.refresh_from_db()
    assert shortage.name == "Material shortage"
    assert rule.name == "Shortages go to procurement"
    assert at_p1.status == "open"
    assert acknowledge.status_code == 200  # no actions offered: the POST just shows the list
    assert "Shortages go to procurement" in _matched(dry_run)
