"""A small plant for quality: a supplier lot made into a semi lot made into a finished lot."""

from decimal import Decimal

import pytest

from mes import services
from mes.models import Lot
from tests.factories import ItemFactory, LotFactory, WorkCenterFactory, make_work_order


@pytest.fixture
def quality(p1, user_in):
    return user_in("quality", p1)


@pytest.fixture
def supervisor(p1, user_in):
    return user_in("supervisor", p1)


def make_from(
    site, consumed: list[tuple[Lot, str]], *, produced: str, qty="10", final=True, kind="semi"
):
    """An order at ``site`` that consumes ``consumed`` and produces lot ``produced``."""
    wc = WorkCenterFactory(site=site)
    wo = make_work_order(
        site,
        status="released",
        operations=1,
        work_centers=[wc],
        qty=qty,
        item=ItemFactory(kind=kind),
    )
    op = wo.operations.get()
    services.confirm_operation(
        op,
        actor=None,
        good_qty=qty,
        final=final,
        consumed=[services.Consumption(lot, Decimal(q)) for lot, q in consumed],
        produced_lot=produced,
    )
    return Lot.objects.get(site=site, number=produced)


@pytest.fixture
def chain(p1):
    """steel (supplier lot) -> bracket (semi) -> kit (finished)."""
    steel = LotFactory(site=p1, number="STEEL-1", supplier="Centrostal", quantity=Decimal(100))
    bracket = make_from(p1, [(steel, "20")], produced="BRK-1")
    kit = make_from(p1, [(bracket, "5")], produced="KIT-1", kind="finished")
    return {"steel": steel, "bracket": bracket, "kit": kit}
