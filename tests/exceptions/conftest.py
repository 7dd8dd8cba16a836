import pytest

from exceptions import services
from exceptions.models import ExceptionType
from tests.exceptions.api_common import raise_ticket
from tests.factories import make_work_order


@pytest.fixture
def shortage(db):
    return ExceptionType.objects.get(code="material_shortage")


@pytest.fixture
def breakdown(db):
    return ExceptionType.objects.get(code="machine_breakdown")


@pytest.fixture
def running(p1):
    return make_work_order(p1, status="in_progress", erp_number="ZP/2026/07/0001")


@pytest.fixture
def supervisor(p1, user_in):
    return user_in("supervisor", p1)


@pytest.fixture
def procurement(p1, user_in):
    return user_in("procurement", p1)


@pytest.fixture
def sup_client(client_for, supervisor):
    return client_for(supervisor)


@pytest.fixture
def p2_ticket(p2, user_in, shortage):
    return raise_ticket(user_in("supervisor", p2), p2, shortage)


@pytest.fixture
def p1_ticket(p1, supervisor, shortage):
    return raise_ticket(supervisor, p1, shortage)


@pytest.fixture
def p2_order(p2):
    return make_work_order(p2, status="in_progress", erp_number="WO-P2")


@pytest.fixture
def raise_at():
    def make(site, exception_type, **kwargs):
        kwargs.setdefault("data", {"material": "RM-1", "qty_missing": 5})
        return services.raise_exception(
            actor=None, exception_type=exception_type, site=site, **kwargs
        )

    return make
