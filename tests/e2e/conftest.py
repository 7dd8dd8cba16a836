"""Fixtures that start real processes (Celery worker, uvicorn, Chromium) against the test
database and Redis, with the helpers of :mod:`tests.processes` (shared with the benches)."""

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from celery import Celery
from django.db import connection, connections

from tests.conftest import REQUIRED
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


# --- a real browser -------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = ROOT / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}
TABLET = {"width": 1024, "height": 1366}


def _missing(reason: str):
    if REQUIRED:
        pytest.fail(f"{reason} (REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def browser(monkeypatch, transactional_db):
    if not Path(CHROMIUM).exists():
        _missing(f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("needs the playwright package (pip install -e '.[dev]')")
    # Playwright's sync API runs an event loop in this thread; the ORM calls here are still sync.
    # Only for this test: `check --deploy` in another test must not see the variable.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    # With Playwright's loop running, Django keeps DB connections per context, not per thread:
    # close them on both sides so no session outlives the test and blocks dropping the test DB.
    connections.close_all()
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()
        connections.close_all()


class Phone:
    """A signed-in phone-sized (or ``viewport``-sized) browser context that counts the taps."""

    def __init__(self, browser, base_url: str, username: str, viewport=PHONE):
        self.context = browser.new_context(viewport=viewport, device_scale_factor=2, has_touch=True)
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()
        self.base_url = base_url
        self.taps = 0
        self.page.goto(f"{base_url}/login/")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", "pw")
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_url(f"{base_url}/")

    def open(self, path: str):
        self.page.goto(f"{self.base_url}{path}")

    def tap(self, locator):
        self.taps += 1
        locator.click()
        self.page.wait_for_load_state()

    def close(self):
        self.context.close()
