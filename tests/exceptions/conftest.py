import pytest

from exceptions.models import ExceptionType
from mes.models import OutboxEvent
from mes.tasks import relay_outbox_event


@pytest.fixture
def relay():
    """Relay every undelivered outbox event, as the worker would after commit, until none is
    left (rule actions emit events of their own). Returns how many were relayed."""

    def run(limit: int = 50) -> int:
        total = 0
        for _ in range(limit):
            pending = list(
                OutboxEvent.objects.filter(delivered_at__isnull=True)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            if not pending:
                return total
            for pk in pending:
                relay_outbox_event.delay(pk)
            failed = OutboxEvent.objects.exclude(last_error="").values_list("type", "last_error")
            assert not failed, list(failed)
            total += len(pending)
        raise AssertionError("outbox did not drain")

    return run


@pytest.fixture
def shortage(db):
    return ExceptionType.objects.get(code="material_shortage")


@pytest.fixture
def breakdown(db):
    return ExceptionType.objects.get(code="machine_breakdown")
