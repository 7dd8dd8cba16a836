"""Fixtures and helpers that start real processes (Celery worker, uvicorn) against the test
database and Redis. Every e2e test starts its processes through ``start_process`` and stops
them through ``stop_process``."""

import os
import socket
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def celery_worker_argv(queue: str) -> list[str]:
    """A Celery worker on its own queue, without the cluster chatter tests do not need."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "andon",
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
    ]


@dataclass
class Running:
    proc: subprocess.Popen
    log_path: Path
    _log: object

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def check_alive(self, name: str) -> None:
        if self.proc.poll() is not None:
            pytest.fail(f"{name} died:\n{self.output()}")


def start_process(argv: list[str], env: dict, log_path: Path) -> Running:
    """Start ``argv`` in the project root with its output in ``log_path``."""
    log = open(log_path, "w")  # noqa: SIM115 - closed by stop_process
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    return Running(proc, log_path, log)


def stop_process(running: Running) -> None:
    running.proc.terminate()
    try:
        running.proc.wait(15)
    except subprocess.TimeoutExpired:
        running.proc.kill()
        running.proc.wait(5)
    running._log.close()


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
    """Poll ``predicate`` until true; fail with ``message`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {message}")
