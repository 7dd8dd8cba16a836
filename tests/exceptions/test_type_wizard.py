"""The "new exception type" wizard: four steps saved together through the services (type,
a workflow copied from a template, SLA targets and a ladder of its own, a routing rule naming
it), ending in the dry run; a refused step saves nothing; who may not add types is refused."""

import json

import pytest
from django.urls import reverse

from exceptions.models import (
    EscalationPolicy,
    ExceptionType,
    RoutingRule,
    SlaPolicy,
    Workflow,
)
from exceptions.sla import escalation_policy_between
from mes.models import OutboxEvent
from tests.exceptions.admin_common import _row_counts

pytestmark = pytest.mark.django_db

WIZARD = "admin:exceptions_exceptiontype_wizard"
FORM = {
    "properties": {
        "forklift_no": {"type": "string", "title": "Forklift number"},
        "damage": {"type": "string", "title": "Damage", "enum": ["Fork", "Mast"]},
    },
    "required": ["forklift_no"],
}


def _steps(**changes):
    data = {
        "type-code": "forklift_damage",
        "type-name": "Forklift damage",
        "type-category": "other",
        "type-default_severity": "medium",
        "type-colour": "#b45309",
        "type-form_schema": json.dumps(FORM),
        "workflow-how": "copy",
        "workflow-workflow": str(Workflow.objects.get(code="default").pk),
        "workflow-copy_code": "forklift",
        "workflow-copy_name": "Forklift repair",
        "clock-ack_high": "10",
        "clock-resolve_high": "120",
        "clock-escalate_after": "30",
        "clock-escalate_to": ["manager"],
        "routing-queue": "maintenance",
        "routing-notify": ["maintenance", "supervisor"],
    }
    data.update(changes)
    return data


def test_the_wizard_makes_the_type_and_everything_that_handles_it(as_manager, manager):
    page = as_manager.get(reverse(WIZARD))
    assert page.status_code == 200 and "4. Its routing" in page.content.decode()
    assert "form_builder.js" in page.content.decode()

    response = as_manager.post(reverse(WIZARD), _steps())

    created = ExceptionType.objects.get(code="forklift_damage")
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:exceptions_routingrule_dry_run") + (
        f"?type={created.pk}"
    )
    assert created.form_schema["order"] == ["forklift_no", "damage"]
    assert created.workflow.code == "forklift"
    assert created.workflow.states.count() == Workflow.objects.get(code="default").states.count()
    assert created.workflow.transitions.filter(roles__name="operator").exists()
    sla = SlaPolicy.objects.get(type=created)
    assert (sla.severity, sla.acknowledge_minutes, sla.resolve_minutes) == ("high", 10, 120)
    ladder = EscalationPolicy.objects.get(types=created)
    assert escalation_policy_between(created.pk, "low") == ladder  # it wins over the catch-all
    assert list(ladder.levels.values_list("after_minutes", "notify_roles")) == [(30, ["manager"])]
    rule = RoutingRule.objects.get(types=created)
    assert rule.actions == [
        {"action": "assign_role", "role": "maintenance"},
        {"action": "notify_roles", "roles": ["maintenance", "supervisor"]},
    ]
    assert created.history.get().history_user == manager
    assert OutboxEvent.objects.filter(type="exception_type.changed").exists()
    assert OutboxEvent.objects.filter(type="workflow.changed").exists()
    dry_run = as_manager.get(response["Location"]).content.decode()
    assert "Forklift damage is ready" in dry_run


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"type-form_schema": '{"properties": {"x": {"type": "choice"}}}'}, "has type"),
        ({"workflow-copy_code": "default"}, "A workflow has this code"),
        ({"clock-escalate_to": []}, "Tick whom to tell"),
        ({"clock-escalate_again_after": "20"}, "Later than the first escalation"),
        ({"type-code": "safety"}, "already exists"),
    ],
)
def test_a_refused_step_saves_nothing(as_manager, changes, expected):
    before = _row_counts()
    response = as_manager.post(reverse(WIZARD), _steps(**changes))
    assert response.status_code == 200
    assert expected in response.content.decode()
    assert _row_counts() == before


def test_who_may_not_add_types_cannot_use_the_wizard(client, p1, p2, user_in):
    client.force_login(user_in("manager", p1, is_staff=True))  # one of two plants
    before = _row_counts()
    assert client.get(reverse(WIZARD)).status_code == 403
    assert client.post(reverse(WIZARD), _steps()).status_code == 403
    assert _row_counts() == before
