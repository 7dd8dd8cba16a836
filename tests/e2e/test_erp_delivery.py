"""Outbound ERP delivery through a real Celery worker on Redis to an ERP that fails at random.

1,000 events (holds and resumes of 50 work orders) go to a loopback ERP that times out,
answers 500 and 429, drops connections and sometimes applies an event but loses the reply.
Every event must be applied exactly once, in order per work order; the only undelivered
events are those of the work order the ERP refuses (422): dead letters, by design.
"""

import os
import uuid

import pytest
from celery import Celery

from exceptions import services as exception_services
from exceptions.models import ExceptionTicket, ExceptionType
from integrations.erp.models import ErpDelivery
from mes import services
from mes.models import OutboxEvent
from tests.e2e.conftest import (
    _database_url,
    celery_worker_argv,
    start_process,
    stop_process,
    wait_for,
)
from tests.factories import make_endpoint, make_user, make_work_order
from tests.integrations.flaky_erp import FlakyErp

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("require_postgres")]

ORDERS, CYCLES = 50, 10  # 50 orders × 10 × (hold + resume) = 1,000 events
SECRET = "s3cret-for-hmac"


@pytest.fixture
def erp_worker(redis_url, transactional_db, tmp_path):
    queue = f"andon-erp-{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": redis_url,
        "CELERY_QUEUE": queue,  # the worker's own follow-up tasks (retries) come back to it
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "ERP_BACKOFF_SECONDS": "0.05",
        "OUTBOX_SWEEP_AFTER_SECONDS": "0",
    }
    argv = celery_worker_argv(queue)
    argv[argv.index("--concurrency") + 1] = "4"
    worker = start_process(argv, env, tmp_path / "worker.log")
    try:
        wait_for(
            lambda: worker.check_alive("worker") or "ready." in worker.output(),
            timeout=60,
            message="the Celery worker",
        )
        client = Celery("andon-test-client", broker=redis_url)
        yield worker, lambda task, *args: client.send_task(task, args=list(args), queue=queue)
        client.close()
    finally:
        stop_process(worker)


def test_a_thousand_events_reach_a_flaky_erp_exactly_once_in_order(erp_worker, p1, monkeypatch):
    worker, send_task = erp_worker
    monkeypatch.setattr("mes.outbox._enqueue_relay", lambda: send_task("mes.tasks.relay_outbox"))
    owner = make_user("integration_owner", "manager", [p1])
    orders = [
        make_work_order(p1, erp_number=f"ZP/2026/12/{n:04d}", status="released")
        for n in range(ORDERS)
    ]
    refused = orders[0].erp_number
    with FlakyErp(SECRET) as erp:
        erp.refused = {refused}
        make_endpoint(
            name="Generic ERP",
            base_url=erp.url,
            hmac_secret=SECRET,
            event_types=["work_order.held", "work_order.resumed"],
            mapping={
                event_type: {
                    "seq": "{{ event.id }}",
                    "type": "{{ event.type }}",
                    "work_order": "{{ payload.erp_number }}",
                    "status": "{{ payload.status }}",
                    "note": "Andon {{ event.type }} at {{ event.site }}",
                }
                for event_type in ("work_order.held", "work_order.resumed")
            },
            owner=owner,
            max_attempts=12,
            timeout_seconds=1,
        )
        for cycle in range(CYCLES):
            for wo in orders:
                wo = services.hold_work_order(wo, actor=None, reason=f"cycle {cycle}")
                services.resume_work_order(wo, actor=None, reason=f"cycle {cycle}")
        events = OutboxEvent.objects.filter(type__in=["work_order.held", "work_order.resumed"])
        assert events.count() == ORDERS * CYCLES * 2

        def settled():
            worker.check_alive("worker")
            return (
                ErpDelivery.objects.count() == events.count()
                and not ErpDelivery.objects.filter(status="pending").exists()
            )

        wait_for(settled, timeout=420, message="every delivery to settle")

        by_order = {}
        for event in events.order_by("pk"):
            by_order.setdefault(event.payload["erp_number"], []).append(str(event.event_id))
        dead = ErpDelivery.objects.filter(status="dead")
        assert set(dead.values_list("work_order__erp_number", flat=True)) == {refused}
        assert dead.count() == CYCLES * 2  # every event of the refused order, none else
        assert all(d.last_status == 422 for d in dead)
        delivered = {
            str(k)
            for k in ErpDelivery.objects.filter(status="delivered").values_list(
                "event__event_id", flat=True
            )
        }
        expected = {key for number, keys in by_order.items() if number != refused for key in keys}
        assert delivered == expected
        # exactly once: each event applied once, whatever was retried or re-received
        assert set(erp.applied) == expected
        assert set(erp.applied.values()) == {1}
        assert sum(erp.received.values()) > len(expected)  # failures did happen, and were retried
        assert erp.bad_signatures == 0
        # in order per work order
        for number, keys in by_order.items():
            if number != refused:
                assert erp.sequence_by_work_order[number] == keys, number
        # the owner was told about the dead letters
        assert owner.notifications.filter(kind="erp_dead_letter").count() == CYCLES * 2
        assert all(d.acknowledged_at for d in ErpDelivery.objects.filter(status="delivered"))


def test_a_resolution_marked_for_the_erp_reaches_it_with_its_decision(erp_worker, p1, monkeypatch):
    """The default rule marks order changes for the ERP; when one is resolved, the worker
    delivers ``exception.resolved`` with the decision. An unmarked ticket's does not go."""
    worker, send_task = erp_worker
    monkeypatch.setattr("mes.outbox._enqueue_relay", lambda: send_task("mes.tasks.relay_outbox"))
    planner = make_user("planner_e2e", "planner", [p1])
    wo = make_work_order(p1, erp_number="ZP/2026/12/0900", status="released")
    with FlakyErp(SECRET, weights={"ok": 1}) as erp:
        make_endpoint(
            name="Resolutions",
            base_url=erp.url,
            hmac_secret=SECRET,
            event_types=["exception.resolved"],
            mapping={
                "exception.resolved": {
                    "seq": "{{ event.id }}",
                    "exception": "{{ payload.number }}",
                    "work_order": "{{ payload.work_order }}",
                    "decision": "{{ payload.decision }}",
                    "why": "{{ payload.reasoning }}",
                }
            },
            timeout_seconds=5,
        )
        marked, unmarked = (
            exception_services.raise_exception(
                actor=planner,
                exception_type=ExceptionType.objects.get(code=code),
                site=p1,
                work_order=wo,
                data=data,
            )
            for code, data in (
                ("order_change", {"change": "quantity", "new_quantity": 80}),
                ("material_shortage", {"material": "RM-1"}),
            )
        )
        wait_for(
            lambda: (
                worker.check_alive("worker")
                or ExceptionTicket.objects.get(pk=marked.pk).post_to_erp
            ),
            timeout=60,
            message="the rules to mark the order change for the ERP",
        )
        for ticket in (marked, unmarked):
            exception_services.record_decision(
                ExceptionTicket.objects.get(pk=ticket.pk),
                actor=planner,
                decision="Accept 80 pcs",
                reasoning="Customer confirmed",
                resolve_to="resolved",
            )
        resolved = OutboxEvent.objects.filter(type="exception.resolved")
        wait_for(
            lambda: (
                worker.check_alive("worker")
                or (
                    resolved.filter(delivered_at__isnull=False).count() == 2
                    and ErpDelivery.objects.filter(status="delivered").count() == 1
                )
            ),
            timeout=120,
            message="the resolution to reach the ERP",
        )
        delivery = ErpDelivery.objects.get()
        assert delivery.event.payload["number"] == marked.number
        body = erp.bodies[str(delivery.event.event_id)]
        assert body == {
            "seq": str(delivery.event.event_id),
            "exception": marked.number,
            "work_order": "ZP/2026/12/0900",
            "decision": "Accept 80 pcs",
            "why": "Customer confirmed",
        }
        assert erp.bad_signatures == 0
