"""Statements per confirmation (besides transaction control): the floor's most frequent write."""

from decimal import Decimal

import pytest

from mes.models import Confirmation
from tests.exceptions.test_query_budget import statements
from tests.factories import LotFactory, make_work_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("require_postgres")]


@pytest.fixture
def operator(p1, user_in, client_for):
    return client_for(user_in("operator", p1))


def confirm(client, wo, **extra):
    op = wo.operations.order_by("sequence").first()
    body = {"work_order": wo.erp_number, "sequence": op.sequence, "good_qty": "5", **extra}
    response = client.post("/api/v1/confirmations/", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_confirm_runs_at_most_twelve_statements(p1, operator):
    wo = make_work_order(p1, status="in_progress", erp_number="ZP/2026/07/0009")
    confirm(operator, wo)  # the process reads the configuration once
    with statements() as ran:
        body = confirm(operator, wo, scrap_qty="1", labor_minutes="12.5")
    assert len(ran) <= 12, ran.run
    assert (body["work_order"], body["good_qty"], body["consumed"]) == (wo.erp_number, "5.000", [])
    assert Confirmation.objects.get(pk=body["id"]).history.count() == 1


def test_the_answer_with_lots_is_built_from_what_was_written(p1, operator):
    wo = make_work_order(p1, status="in_progress", erp_number="ZP/2026/07/0010")
    lot = LotFactory(site=p1, quantity=Decimal("30"))
    body = confirm(operator, wo, consumed=[{"lot": lot.number, "quantity": "4"}], produced_lot="X1")
    assert body["consumed"] == [{"lot": lot.number, "quantity": "4.000"}]
    assert body["produced_lots"] == ["X1"]
    again = operator.get(f"/api/v1/confirmations/{body['id']}/").json()
    assert again == body
