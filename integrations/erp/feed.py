"""The pull feed: outcomes for ERPs that cannot receive calls.

An endpoint with the ``pull`` adapter collects deliveries like any other (the ``erp`` outbox
subscriber), but nothing is pushed: its ``account`` reads ``GET /api/v1/erp/events/``
and acknowledges with ``POST /api/v1/erp/events/ack/``.

The cursor is the delivery's ``feed_position``, given when a read first reaches it, under the
endpoint's row lock (readers of one feed take turns). Positions are therefore handed out in
commit order and never skip a row that commits later (the usual flaw of an id cursor over
rows written by parallel transactions); per work order, positions follow the events' order
(a delivery waits while an earlier event of its work order is still in the outbox relay).

Acknowledging cursor N marks every pending delivery up to N delivered, with
``acknowledged_at`` (the end of the event's time to ERP) and a history row per delivery.
Reading ``after`` an older cursor serves the same events again, same ``event_id``: the ERP
dedupes by it, as with the push adapters' ``Idempotency-Key``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_update_with_history

from mes.audit.context import history_stamps
from mes.errors import InvalidInput, NotFound, NotPermitted

from .models import ErpDelivery, ErpEndpoint
from .outbound.adapters import PullAdapter
from .outbound.delivery import first_in_relay_by_chain
from .outbound.rendering import body_for

MAX_LIMIT = 1000
NUMBER_PER_READ = 5000


class NoFeed(NotFound):
    code = "no_feed"


class FeedSites(NotPermitted):
    code = "feed_sites"


def endpoint_for(user) -> ErpEndpoint:
    """The active pull endpoint this account reads. The feed is one stream of every site
    the endpoint serves (one cursor): whoever reads or acknowledges it must see all of them,
    so a token limited to fewer sites is refused rather than served another site's events."""
    endpoint = ErpEndpoint.objects.filter(
        account=user, adapter=PullAdapter.name, is_active=True
    ).first()
    if endpoint is None:
        raise NoFeed(_("No active pull feed is read by this account."))
    if not ErpEndpoint.objects.manageable_by(user).filter(pk=endpoint.pk).exists():
        raise FeedSites(_("The feed serves sites this account or token does not cover."))
    return endpoint


def _pending(endpoint: ErpEndpoint):
    return ErpDelivery.objects.filter(endpoint=endpoint, status=ErpDelivery.Status.PENDING)


def number_new(endpoint: ErpEndpoint) -> int:
    """Give feed positions to the deliveries that have none yet, in event order, holding back
    a work order's deliveries while an earlier event of it is still in the relay. The caller
    holds the endpoint's row lock. Returns how many were numbered."""
    unnumbered = _pending(endpoint).filter(feed_position__isnull=True)
    rows = list(
        unnumbered.order_by("event_id").values_list("pk", "work_order_id", "event_id")[
            :NUMBER_PER_READ
        ]
    )
    if not rows:
        return 0
    chains = {wo for _pk, wo, _event in rows if wo is not None}
    below = max(e for _p, _w, e in rows)
    # Relay first, then deliveries: an event whose relay commits in between is no longer in
    # the relay but shows up as a delivery missing from ``rows``, and holds its chain back.
    wait_from = first_in_relay_by_chain(endpoint, chains, below)
    seen = {event for _pk, _wo, event in rows}
    for wo, event in unnumbered.filter(work_order_id__in=chains, event_id__lte=below).values_list(
        "work_order_id", "event_id"
    ):
        if event not in seen and event < wait_from.get(wo, event + 1):
            wait_from[wo] = event
    last = _all(endpoint).aggregate(m=Max("feed_position"))["m"] or 0
    numbered = []
    for pk, wo, event in rows:
        if wo is not None and wait_from.get(wo, event) < event:
            continue
        last += 1
        numbered.append(ErpDelivery(pk=pk, feed_position=last))
    ErpDelivery.objects.bulk_update(numbered, ["feed_position"], batch_size=1000)
    return len(numbered)


def _all(endpoint: ErpEndpoint):
    return ErpDelivery.objects.filter(endpoint=endpoint)


@dataclass
class Page:
    events: list[dict]
    next_cursor: int
    acknowledged_cursor: int
    has_more: bool


def read(endpoint: ErpEndpoint, *, after: int | None, limit: int) -> Page:
    """Up to ``limit`` events after cursor ``after`` (default: the last acknowledged one)."""
    with transaction.atomic():
        endpoint = ErpEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        number_new(endpoint)
    after = endpoint.feed_acknowledged if after is None else after
    rows = list(
        ErpDelivery.objects.filter(endpoint=endpoint, feed_position__gt=after)
        .select_related("event", "event__site", "work_order")
        .order_by("feed_position")[: limit + 1]
    )
    has_more = len(rows) > limit
    rows = rows[:limit]
    events = [
        {
            "cursor": d.feed_position,
            "event_id": str(d.event.event_id),
            "type": d.event.type,
            "occurred_at": d.event.occurred_at,
            "site": d.event.site.code if d.event.site_id else None,
            "work_order": d.work_order.erp_number if d.work_order_id else None,
            "acknowledged": d.status == ErpDelivery.Status.DELIVERED,
            "body": body_for(endpoint, d.event),
        }
        for d in rows
    ]
    return Page(
        events=events,
        next_cursor=rows[-1].feed_position if rows else after,
        acknowledged_cursor=endpoint.feed_acknowledged,
        has_more=has_more,
    )


def acknowledge(endpoint: ErpEndpoint, *, cursor: int, actor) -> tuple[int, int]:
    """The ERP applied everything up to ``cursor``: mark those deliveries delivered. Returns
    (deliveries acknowledged now, the feed's acknowledged cursor). Acknowledging an older
    cursor again changes nothing; a cursor the feed has not served is refused."""
    with transaction.atomic():
        endpoint = ErpEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        served = _all(endpoint).aggregate(m=Max("feed_position"))["m"] or 0
        if cursor > served:
            raise InvalidInput(
                _("Cursor %(cursor)s has not been served yet (last served: %(served)s).")
                % {"cursor": cursor, "served": served},
                code="cursor_ahead",
                fields={"cursor": [_("Acknowledge only cursors the feed has returned.")]},
            )
        now = timezone.now()
        deliveries = list(_pending(endpoint).filter(feed_position__lte=cursor))
        for delivery in deliveries:
            delivery.status = ErpDelivery.Status.DELIVERED
            delivery.acknowledged_at = now
            delivery.attempts += 1
            delivery.last_error = ""
        if deliveries:
            bulk_update_with_history(
                deliveries,
                ErpDelivery,
                ["status", "acknowledged_at", "attempts", "last_error"],
                batch_size=1000,
                default_user=actor,
                default_change_reason="acknowledged by the ERP",
                custom_historical_attrs=history_stamps(),
            )
        if cursor > endpoint.feed_acknowledged:
            endpoint.feed_acknowledged = cursor
            endpoint._history_user = actor
            endpoint._change_reason = "feed acknowledged"
            endpoint.save(update_fields=["feed_acknowledged"])
    return len(deliveries), endpoint.feed_acknowledged
