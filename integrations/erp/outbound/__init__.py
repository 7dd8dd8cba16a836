"""Outcomes to the ERP, exactly once and in order per work order.

The ``erp`` outbox subscriber turns each event of a type an active :class:`ErpEndpoint`
wants (and of one of its sites) into an :class:`ErpDelivery`, in the relay's transaction; after
commit a Celery task delivers it. An attempt renders the endpoint's mapping for the event type
(:func:`render`), and hands the body to the endpoint's adapter (:data:`adapters`). The generic
REST adapter POSTs it with ``Idempotency-Key: <event id>`` and ``X-Andon-Signature:
t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">``.

- 2xx: delivered; ``acknowledged_at`` closes the event's time to ERP.
- Network errors, timeouts, 408, 425, 429 and 5xx: retried with exponential backoff and
  jitter (``Retry-After`` honoured), until ``max_attempts``; then a dead letter.
- Any other 4xx (the ERP refused the content: a mapping to fix): a dead letter at once.

A dead letter notifies the endpoint's owner; the admin retries (same event, same key) or
replays it. Order: a delivery is attempted only when no earlier pending delivery of the same
work order to the same endpoint exists (a dead letter does not hold the later ones back). The
head of each chain is claimed with ``SKIP LOCKED`` in a short transaction that counts the
attempt and leases the row; the ERP is called with no transaction open, and the outcome is
written in a second transaction. Any number of workers deliver at once, concurrently across
work orders and in order within one; a worker that dies mid-call leaves its attempt counted.

"""

from .adapters import (
    Outcome,
    PullAdapter,
    RestAdapter,
    SyncFailed,
    adapter_choices,
    adapters,
    polls,
    pushes,
    record_sync,
    sync_now,
)
from .delivery import (
    BACKOFF_CAP,
    SUBSCRIBER,
    backoff,
    call,
    claim,
    deliver_endpoint,
    deliver_endpoint_now,
    enqueue_deliveries,
    next_head,
    notify_dead_letter,
    record,
    redeliver,
)
from .rendering import body_for, default_body, event_context, render, signature

__all__ = [
    "BACKOFF_CAP",
    "SUBSCRIBER",
    "Outcome",
    "PullAdapter",
    "RestAdapter",
    "SyncFailed",
    "adapter_choices",
    "adapters",
    "backoff",
    "call",
    "claim",
    "body_for",
    "default_body",
    "deliver_endpoint",
    "deliver_endpoint_now",
    "enqueue_deliveries",
    "event_context",
    "next_head",
    "notify_dead_letter",
    "record",
    "polls",
    "pushes",
    "record_sync",
    "redeliver",
    "render",
    "signature",
    "sync_now",
]
