"""An outbox subscriber for end-to-end tests, loaded by a real Celery worker through
ANDON_SUBSCRIBER_MODULES. Each call appends the event id to a Redis list, so a test can count
how often the handler really ran (the OutboxDelivery row alone is unique by construction)."""

import redis
from django.conf import settings

from mes.outbox import subscribers
from tests.e2e.keys import PROBE_KEY


@subscribers.register("e2e.probe", "work_order.*")
def probe(event) -> None:
    redis.Redis.from_url(settings.REDIS_URL).rpush(PROBE_KEY, str(event.event_id))
