"""Fixtures shared by the tests of this folder."""

from decimal import Decimal

import pytest

from mes import services
from tests.factories import (
    LotFactory,
    make_user,
    make_work_order,
)


@pytest.fixture
def people(p1, p2):
    """The plant's cast: who holds which role where."""
    return {
        "supervisor_p1": make_user("supervisor_p1", "supervisor", [p1]),
        "procurement_p1": make_user("procurement_p1", "procurement", [p1]),
        "planner_p1": make_user("planner_p1", "planner", [p1]),
        "planner_p2": make_user("planner_p2", "planner", [p2]),
        "auditor": make_user("auditor", "auditor"),
        "operator_p1": make_user("operator_p1", "operator", [p1]),
    }


@pytest.fixture
def production_p1(p1):
    """A running order at P1 with a confirmation that consumed a lot and produced one."""
    wo = make_work_order(p1, status="in_progress")
    op = wo.operations.order_by("sequence").first()
    lot = LotFactory(site=p1)
    confirmation = services.confirm_operation(
        op,
        actor=None,
        good_qty="5",
        consumed=[services.Consumption(lot=lot, quantity=Decimal(2))],
        produced_lot="P1-OUT-1",
    )
    return {"work_order": wo, "operation": op, "lot": lot, "confirmation": confirmation}
