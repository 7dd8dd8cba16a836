"""Fixtures that start real processes (Celery worker) against the test database and Redis."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def celery_worker_process(require_postgres, redis_url, transactional_db, tmp_path):
    """A real `celery worker` process on the Redis broker and the test database."""
    redis.Redis.from_url(redis_url).flushdb()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": redis_url,
        "ANDON_SUBSCRIBER_MODULES": "tests.e2e.probe",
        "OUTBOX_SWEEP_AFTER_SECONDS": "0",
        "CELERY_TASK_ALWAYS_EAGER": "0",
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
    from celery import Celery

    client = Celery("andon-test-client", broker=redis_url)
    yield client
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
