"""Issue 12: schemathesis over Andon's own OpenAPI schema, authenticated, every operation,
bounded examples: no answer is a 5xx, and every answer matches the schema it documents."""

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)

from exceptions import services as exceptions_services
from exceptions.models import ExceptionType
from tests.factories import LotFactory, make_token, make_user, make_work_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("require_postgres")]

EXAMPLES = 8  # per operation: bounded, so the whole API runs in about a minute


@pytest.fixture
def plant(p1, p2):
    """Records for the operations to find: orders, a lot, a ticket, an account with a token."""
    manager = make_user("fuzz_manager", "manager", [p1, p2], is_staff=True)
    for status in ("planned", "in_progress"):
        make_work_order(p1, status=status)
    LotFactory(site=p1)
    exceptions_services.raise_exception(
        actor=None,
        exception_type=ExceptionType.objects.get(code="material_shortage"),
        site=p1,
        data={"material": "RM-1"},
    )
    return make_token(manager)


@pytest.fixture
def api_schema(plant):
    # Requests run in-process on the test's own connection, as Django's test client runs
    # them: the handler must not close it after each answer.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    schema.plant_token = plant
    yield schema
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def test_no_operation_answers_5xx_or_off_its_schema(api_schema):
    headers = {"Authorization": f"Token {api_schema.plant_token}"}
    checks = [not_a_server_error, response_schema_conformance, content_type_conformance]
    failures, operations = [], 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def fuzz(case):
            case.call_and_validate(headers=headers, checks=checks)

        try:
            fuzz()
        except (Exception, BaseExceptionGroup) as failure:  # noqa: BLE001 - reported together
            failures.append(f"{operation.label}: {_first_line(failure)}")
    assert operations > 40  # every operation of the API, not a handful
    assert failures == [], "\n\n".join(failures)


def _first_line(failure: Exception) -> str:
    """What failed, in a line: schemathesis's own summary when it has one."""
    text = str(failure)
    inner = getattr(failure, "exceptions", None)
    if inner:
        text = " | ".join(str(e).strip().splitlines()[0] + " " + _detail(e) for e in inner)
    return text[:400]


def _detail(error: Exception) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[1] if len(lines) > 1 else ""
