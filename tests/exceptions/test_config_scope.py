"""Issue 12 (found by the hostile review): one plant's manager does not decide how another
plant's tickets are handled. A routing rule names the sites it serves (none: every site); a
manager of some sites reads the rules of their sites and the shared ones, changes only rules
all of whose sites are theirs, and must name at least one; the configuration every site
shares (types, workflows, SLA and escalation policies, items, new sites) is changed only by
who sees every site."""

import pytest

from exceptions import services
from exceptions.models import EscalationPolicy, RoutingRule, Workflow
from mes.errors import InvalidInput, NotPermitted
from mes.models import Item
from tests.exceptions.admin_common import _rule_data, _url
from tests.factories import ItemFactory, make_user

pytestmark = pytest.mark.django_db

SEVERE = '[{"action": "set_severity", "severity": "low"}, {"action": "hold_work_order"}]'


def _rule(name, *sites):
    rule = RoutingRule.objects.create(name=name, actions=[{"action": "mark_for_erp"}])
    rule.sites.set(sites)
    return rule


def test_a_rule_must_name_the_managers_own_sites(as_manager, p1, p2):
    before = RoutingRule.objects.count()
    refused = as_manager.post(_url(RoutingRule, "add"), _rule_data(actions=SEVERE))
    assert refused.status_code == 200  # the form again: no site named
    assert "sites" in refused.context["adminform"].form.errors
    other = as_manager.post(_url(RoutingRule, "add"), _rule_data(sites=[str(p2.pk)]))
    assert other.status_code == 200 and "sites" in other.context["adminform"].form.errors
    assert RoutingRule.objects.count() == before
    made = as_manager.post(_url(RoutingRule, "add"), _rule_data(sites=[str(p1.pk)]))
    assert made.status_code == 302
    assert list(RoutingRule.objects.get(name="Big shortages are critical").sites.all()) == [p1]


def test_rules_of_other_sites_are_hidden_and_shared_ones_read_only(as_manager, p1, p2):
    theirs, both, everywhere = _rule("P2 only", p2), _rule("Both", p1, p2), _rule("All")
    mine = _rule("P1 only", p1)
    listed = as_manager.get(_url(RoutingRule, "changelist")).content.decode()
    assert "P2 only" not in listed and "Both" in listed and "All" in listed
    assert as_manager.get(_url(RoutingRule, "change", theirs.pk)).status_code == 302  # absent
    for rule in (both, everywhere):
        page = as_manager.get(_url(RoutingRule, "change", rule.pk))
        assert page.status_code == 200 and "adminform" in page.context
        assert not page.context["has_change_permission"]
        posted = as_manager.post(
            _url(RoutingRule, "change", rule.pk), _rule_data(name=rule.name, actions=SEVERE)
        )
        assert posted.status_code == 403
        rule.refresh_from_db()
        assert rule.actions == [{"action": "mark_for_erp"}]
    changed = as_manager.post(
        _url(RoutingRule, "change", mine.pk), _rule_data(name="P1 only", sites=[str(p1.pk)])
    )
    assert changed.status_code == 302


def test_the_service_refuses_what_the_admin_hides(manager, p1, p2):
    theirs, everywhere = _rule("P2 only", p2), _rule("All")
    for rule in (theirs, everywhere):
        rule.actions = [{"action": "hold_work_order"}]
        with pytest.raises(NotPermitted):
            services.save_routing_rule(rule, actor=manager, reason="mine now")
    fresh = RoutingRule(name="New", actions=[{"action": "mark_for_erp"}])
    with pytest.raises(InvalidInput, match="at least one"):
        services.save_routing_rule(fresh, actor=manager, reason="no sites")
    assert not RoutingRule.objects.filter(name="New").exists()


def test_shared_configuration_is_changed_only_by_who_sees_every_site(as_manager, manager, p1, p2):
    policy = EscalationPolicy.objects.get(name="Default ladder")
    page = as_manager.get(f"/admin/exceptions/escalationpolicy/{policy.pk}/change/")
    assert page.status_code == 200 and not page.context["has_change_permission"]
    assert (
        as_manager.post(
            f"/admin/exceptions/escalationpolicy/{policy.pk}/change/", {"name": "Mine"}
        ).status_code
        == 403
    )
    assert as_manager.get("/admin/exceptions/exceptiontype/add/").status_code == 403
    assert as_manager.get("/admin/mes/site/add/").status_code == 403
    item = ItemFactory()
    assert as_manager.post(f"/admin/mes/item/{item.pk}/change/", {"name": "x"}).status_code == 403
    workflow = Workflow.objects.first()
    workflow.name = "Renamed by P1"
    with pytest.raises(NotPermitted) as refused:
        services.save_workflow(workflow, actor=manager, reason="mine")
    assert refused.value.code == "shared_configuration"
    assert Item.objects.get(pk=item.pk).name == item.name
    head_office = make_user("head_office", "manager", [p1, p2], is_staff=True)
    workflow.refresh_from_db()
    workflow.name = "Renamed by head office"
    services.save_workflow(workflow, actor=head_office, reason="group decision")
    assert Workflow.objects.get(pk=workflow.pk).name == "Renamed by head office"


def test_a_rule_names_only_accounts_the_manager_sees_and_says_nothing_of_others(as_manager, p1, p2):
    """Hostile review: "no user 'x'" told a P1 manager which P2 accounts exist."""
    make_user("p2_bob", "supervisor", [p2])
    make_user("p1_anna", "supervisor", [p1])
    answers = {}
    for name in ("p2_bob", "nobody_at_all"):
        actions = f'[{{"action": "assign_user", "username": "{name}"}}]'
        page = as_manager.post(
            _url(RoutingRule, "add"), _rule_data(sites=[str(p1.pk)], actions=actions)
        )
        assert page.status_code == 200
        answers[name] = page.context["adminform"].form.errors["actions"]
    assert answers["p2_bob"] == [
        e.replace("nobody_at_all", "p2_bob") for e in answers["nobody_at_all"]
    ]
    assert not RoutingRule.objects.filter(name="Big shortages are critical").exists()
    made = as_manager.post(
        _url(RoutingRule, "add"),
        _rule_data(
            sites=[str(p1.pk)], actions='[{"action": "assign_user", "username": "p1_anna"}]'
        ),
    )
    assert made.status_code == 302
