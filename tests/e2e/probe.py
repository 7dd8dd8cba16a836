"""An outbox subscriber for end-to-end tests, loaded by a real Celery worker through
ANDON_SUBSCRIBER_MODULES. Each call appends the event id to a Redis list, so a test can count
how often the handler really ran (the OutboxDelivery row alone is unique by construction)."""

import os

import redis
from django.conf import settings

from mes.outbox import subscribers


@subscribers.register("e2e.probe", patterns=["work_order.*"])
def probe(event) -> None:
    key = os.environ["ANDON_E2E_PROBE_KEY"]
    redis.Redis.from_url(settings.REDIS_URL).rpush(key, str(event.event_id))
