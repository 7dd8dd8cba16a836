"""Celery tasks of the production core: the outbox relay and its sweep."""

from celery import shared_task
from django.conf import settings

from mes import outbox


@shared_task(acks_late=True, ignore_result=True)
def relay_outbox_event(event_pk: int) -> bool:
    """Relay one outbox event to its subscribers (idempotent: safe to run any number of times)."""
    return outbox.relay_event(event_pk)


@shared_task(acks_late=True, ignore_result=True)
def sweep_outbox(limit: int = 500) -> int:
    """Relay events left behind (broker down, worker crash, failing subscriber). Returns count."""
    ids = outbox.undelivered_ids(settings.ANDON_OUTBOX_SWEEP_AFTER, limit=limit)
    for pk in ids:
        outbox.relay_event(pk)
    return len(ids)


@shared_task(acks_late=True, ignore_result=True)
def purge_idempotency_records() -> int:
    """Forget idempotency records older than the clients' retry window (24 h)."""
    from mes.idempotency import purge_idempotency_records as purge

    return purge()
