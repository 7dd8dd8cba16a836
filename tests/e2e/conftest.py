"""Fixtures that start real processes (Celery worker) against the test database and Redis."""

import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from celery import Celery
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


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
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "mes",
            "worker",
            "-l",
            "info",
            "--concurrency",
            "2",
            "--pool",
            "prefork",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "-Q",
            queue,
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if "ready." in (tmp_path / "worker.log").read_text():
            break
        if proc.poll() is not None:
            pytest.fail("worker died:\n" + (tmp_path / "worker.log").read_text())
        time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("worker did not start:\n" + (tmp_path / "worker.log").read_text())
    client = Celery("andon-test-client", broker=redis_url)
    yield Worker(client, queue, probe_key)
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()
    client.close()


def wait_for(predicate, timeout: float = 30.0, message: str = "condition"):
    """Poll ``predicate`` until true; fail with ``message`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {message}")
