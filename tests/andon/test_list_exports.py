"""Every list page exports as XLSX (``?file=xlsx``): all its rows, not the first hundred;
another site's list stays a 404 and a role that may not read it a 403."""

import io

import pytest
from openpyxl import load_workbook

from exceptions.models import ExceptionType
from mes import services
from quality.services import open_nonconformance, place_hold
from tests.exceptions.api_common import raise_ticket
from tests.factories import LotFactory, MachineFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def lists(p1, p2, user_in):
    import datetime as dt

    from django.utils import timezone

    supervisor = user_in("supervisor", p1)
    shortage = ExceptionType.objects.get(code="material_shortage")
    for _ in range(3):
        raise_ticket(supervisor, p1, shortage)
    raise_ticket(user_in("supervisor", p2), p2, shortage)
    for _ in range(2):
        place_hold(scope="lot", lot=LotFactory(site=p1), reason="suspect", actor=None)
    open_nonconformance(site=p1, title="Burr", actor=None, lots=[LotFactory(site=p1)])
    machine = MachineFactory(work_center__site=p1)
    services.report_state(machine, "fault", timezone.now() - dt.timedelta(minutes=10))
    services.open_due_downtimes()
    return {
        "/exceptions/site/P1/": 4,  # three raised, one by the machine
        "/quality/holds/P1/": 2,
        "/quality/ncs/P1/": 1,
        "/machines/P1/downtimes/": 1,
    }


def _sheet(answer) -> list[tuple]:
    book = load_workbook(io.BytesIO(b"".join(answer.streaming_content)), read_only=True)
    return list(book.worksheets[0].iter_rows(values_only=True))


def test_each_list_page_as_xlsx(lists, user_in, client, p1):
    client.force_login(user_in("manager", p1))
    for path, rows in lists.items():
        page = client.get(path)
        assert page.status_code == 200, path
        assert b"file=xlsx" in page.content, path
        answer = client.get(path, {"file": "xlsx"})
        assert answer.status_code == 200, path
        sheet = _sheet(answer)
        assert len(sheet) == rows + 1, path  # the header, then the rows
        assert sheet[0][0] == "number"


def test_the_exports_keep_the_pages_permissions(lists, user_in, client, p2):
    client.force_login(user_in("manager", p2))
    for path in lists:
        assert client.get(path, {"file": "xlsx"}).status_code == 404, path
