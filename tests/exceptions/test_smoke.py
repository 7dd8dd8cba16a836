import pytest

from exceptions import services
from exceptions.models import ExceptionTicket
from tests.factories import make_work_order

pytestmark = pytest.mark.django_db


def test_shortage_holds_and_resolution_resumes(p1, user_in, shortage, relay):
    wo = make_work_order(p1, status="in_progress")
    sup = user_in("supervisor", p1)
    proc = user_in("procurement", p1)
    t = services.raise_exception(
        actor=sup,
        exception_type=shortage,
        site=p1,
        work_order=wo,
        data={"material": "RM-1", "qty_missing": 5},
    )
    relay()
    t = ExceptionTicket.objects.get(pk=t.pk)
    wo.refresh_from_db()
    print([(e.kind, e.rule_id, e.message) for e in t.events.all()])
    assert wo.status == "on_hold"
    assert t.queue.name == "procurement" and t.holds_work_order
    services.record_decision(
        t, actor=proc, decision="Expedite from supplier", reasoning="stock 0", resolve_to="resolved"
    )
    relay()
    wo.refresh_from_db()
    assert wo.status == "in_progress"
