"""Shared fixtures. Services: PostgreSQL via DATABASE_URL (see tests/services.py), Redis at
TEST_REDIS_URL. With REQUIRE_SERVICES=1 a missing service fails the run instead of skipping."""

import os
import socket
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.conf import settings as django_settings
from django.db import connection
from rest_framework.test import APIClient

from andon.celery import app as celery_app
from mes.models import OutboxEvent
from mes.tasks import relay_outbox
from tests.factories import SiteFactory, make_user

REQUIRED = os.environ.get("REQUIRE_SERVICES") == "1"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

# Tests run Celery tasks in-process unless a test starts a real worker.
celery_app.conf.task_always_eager = True

# The tests' stand-in ERPs listen on this machine, which production refuses unless allowed
# (integrations.erp.destinations); the processes the e2e tests start inherit the setting.
os.environ.setdefault("ERP_ALLOWED_HOSTS", "127.0.0.1,localhost")
django_settings.ANDON_ERP_ALLOWED_HOSTS = os.environ["ERP_ALLOWED_HOSTS"].split(",")


def _service_missing(reason: str):
    if REQUIRED:
        pytest.fail(f"{reason} (REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _fresh_config_cache():
    """Each test starts with nothing cached (mes.config_cache): one test's rolled-back
    configuration never serves another."""
    from mes import config_cache

    config_cache.clear()
    yield
    config_cache.clear()


@pytest.fixture
def require_postgres():
    if connection.vendor != "postgresql":
        _service_missing("needs PostgreSQL; DATABASE_URL points elsewhere")


@pytest.fixture
def redis_url():
    parsed = urlparse(REDIS_URL)
    try:
        socket.create_connection((parsed.hostname, parsed.port or 6379), 2).close()
    except OSError:
        _service_missing(f"needs Redis at {REDIS_URL}")
    return REDIS_URL


PLANT_Q3 = Path(
    os.environ.get("ANDON_PLANT_DATA")
    or Path(__file__).resolve().parents[1].parent / "shared" / "data" / "plant-q3"
)


@pytest.fixture(scope="session")
def plant_q3() -> Path:
    """The production-like quarter of ``../shared/data/plant-q3`` (or ``ANDON_PLANT_DATA``)."""
    if not (PLANT_Q3 / "work_orders.json").exists():
        pytest.skip(f"plant-q3 data not found at {PLANT_Q3} (set ANDON_PLANT_DATA)")
    return PLANT_Q3


@pytest.fixture
def p1(db):
    return SiteFactory(code="P1", name="Zakład Gliwice", timezone="Europe/Warsaw")


@pytest.fixture
def p2(db):
    return SiteFactory(code="P2", name="Werk Zwickau", timezone="Europe/Berlin")


@pytest.fixture
def user_in(db):
    """``user_in("supervisor", p1)`` -> a user of that role at those sites."""
    counter = {"n": 0}

    def make(role, *sites, **extra):
        counter["n"] += 1
        return make_user(f"{role}_{counter['n']}", role, sites, **extra)

    return make


@pytest.fixture
def manager(p1, user_in):
    """A manager of P1 who may use the admin."""
    return user_in("manager", p1, is_staff=True)


@pytest.fixture
def as_manager(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def client_for():
    """``client_for(user)`` -> an APIClient authenticated with that user's token."""
    from tests.factories import make_token

    keys = {}

    def make(user):
        client = APIClient()
        if user is not None:
            if user.pk not in keys:
                keys[user.pk] = make_token(user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {keys[user.pk]}")
        return client

    return make


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
            relay_outbox.delay()
            failed = OutboxEvent.objects.exclude(last_error="").values_list("type", "last_error")
            assert not failed, list(failed)
            total += len(pending)
        raise AssertionError("outbox did not drain")

    return run
