import pytest

from mes.models import OutboxEvent
from tests.factories import make_work_order

pytestmark = pytest.mark.django_db


def test_work_order_lifecycle_through_services(p1):
    wo = make_work_order(p1, status="closed")
    assert wo.status == "closed"
    assert (
        OutboxEvent.objects.filter(aggregate_type="workorder", aggregate_id=str(wo.pk)).count() >= 5
    )
