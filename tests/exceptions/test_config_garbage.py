"""Hostile review of issue 12: configuration a manager typed wrongly is refused on its field,
never stored, and never a 500 later (an escalation policy with ``severities = 5`` made every
raise at every site fail)."""

import pytest
from django.core.exceptions import ValidationError

from exceptions import services
from exceptions.models import EscalationLevel, EscalationPolicy, ExceptionType, RoutingRule
from exceptions.schema import schema_problems
from integrations.erp.tryton import option_errors
from mes.errors import InvalidInput
from tests.exceptions.api_common import raise_ticket

pytestmark = pytest.mark.django_db


def test_an_escalation_policy_with_garbage_severities_is_refused(as_manager, p1, shortage):
    before = EscalationPolicy.objects.count()
    page = as_manager.post(
        "/admin/exceptions/escalationpolicy/add/",
        {
            "name": "Broken",
            "order": "1",
            "is_active": "on",
            "severities": "5",
            "levels-TOTAL_FORMS": "0",
            "levels-INITIAL_FORMS": "0",
        },
    )
    assert page.status_code == 200 and "severities" in page.context["adminform"].form.errors
    with pytest.raises(InvalidInput):
        services.save_escalation_policy(
            EscalationPolicy(name="Broken", severities=5), actor=None, reason="x"
        )
    assert EscalationPolicy.objects.count() == before
    EscalationPolicy.objects.create(name="Stored before the check", order=0, severities=5)
    assert raise_ticket(None, p1, shortage).pk  # tolerated: the ticket is still raised


@pytest.mark.parametrize("entry", [{"action": []}, {"action": {"a": 1}}, {"action": None}])
def test_an_action_that_is_not_a_name_is_refused(entry):
    rule = RoutingRule(name="Broken", actions=[entry])
    with pytest.raises(InvalidInput) as refused:
        services.save_routing_rule(rule, actor=None, reason="x")
    assert "actions" in refused.value.fields
    assert not RoutingRule.objects.filter(name="Broken").exists()


@pytest.mark.parametrize("key", ["required", "order"])
def test_a_form_schema_listing_non_names_is_refused(shortage, key):
    schema = {"properties": {"qty": {"type": "integer"}}, key: [[1]]}
    assert schema_problems(schema)
    shortage.form_schema = schema
    with pytest.raises(InvalidInput):
        services.save_exception_type(shortage, actor=None, reason="x")
    assert ExceptionType.objects.get(pk=shortage.pk).form_schema != schema


def test_escalation_roles_that_are_not_a_list_of_roles_are_refused():
    policy = EscalationPolicy.objects.first()
    for roles in (5, [[1]], ["pilot"]):
        with pytest.raises(ValidationError):
            EscalationLevel(policy=policy, level=9, after_minutes=5, notify_roles=roles).clean()


def test_tryton_states_that_are_not_names_are_refused():
    errors = option_errors({"warehouses": {}, "routing": [], "states": [[1]]})
    assert any("states" in e for e in errors)
