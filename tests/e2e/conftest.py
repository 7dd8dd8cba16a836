"""Fixtures that start real processes (Celery worker, uvicorn) against the test database and
Redis, with the helpers of :mod:`tests.processes` (shared with the benches)."""

import os
import uuid
from dataclasses import dataclass

import pytest
from celery import Celery
from django.db import connection

from tests.processes import (  # noqa: F401  (the e2e tests import them from here)
    ROOT,
    ProcessFailed,
    free_port,
    start_process,
    stop_process,
    wait_until,
    worker_argv,
)


def _database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


celery_worker_argv = worker_argv


@dataclass
class Worker:
    """A running worker: send tasks to its own queue; its probe writes to ``probe_key``."""

    client: Celery
    queue: str
    probe_key: str

    def send(self, task: str, *args):
        return self.client.send_task(task, args=list(args), queue=self.queue)


@pytest.fixture
def celery_worker_process(require_postgres, redis_url, transactional_db, tmp_path):
    """A real `celery worker` process on the Redis broker and the test database.

    Its queue and probe key are unique to this test, so parallel runs never share work."""
    run_id = uuid.uuid4().hex[:12]
    queue, probe_key = f"andon-e2e-{run_id}", f"andon:e2e:probe:{run_id}"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": redis_url,
        "ANDON_SUBSCRIBER_MODULES": "tests.e2e.probe",
        "OUTBOX_SWEEP_AFTER_SECONDS": "0",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "ANDON_E2E_PROBE_KEY": probe_key,
    }
    worker = start_process(celery_worker_argv(queue), env, tmp_path / "worker.log")
    try:
        wait_for(
            lambda: worker.check_alive("worker") or "ready." in worker.output(),
            timeout=60,
            message="the Celery worker",
        )
    except BaseException:
        stop_process(worker)
        raise
    client = Celery("andon-test-client", broker=redis_url)
    yield Worker(client, queue, probe_key)
    stop_process(worker)
    client.close()


def wait_for(predicate, timeout: float = 30.0, message: str = "condition"):
    """Poll ``predicate`` until true; fail the test with ``message`` after ``timeout`` s."""
    try:
        wait_until(predicate, timeout, message)
    except ProcessFailed as exc:
        pytest.fail(str(exc))
