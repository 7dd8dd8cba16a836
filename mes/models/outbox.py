"""The transactional outbox: events written in the same transaction as the change they describe."""

import uuid

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .base import INTERNAL, InternalQuerySet, SiteScopedQuerySet
from .sites import Site


class OutboxEvent(models.Model):
    """One domain event. ``event_id`` is the idempotency key every subscriber dedupes on.

    Append-only: the relay only stamps ``delivered_at``, ``attempts``, ``last_error`` and its
    lease.
    """

    site_path = "site"

    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(_("type"), max_length=64)
    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    aggregate_type = models.CharField(max_length=40)
    aggregate_id = models.CharField(max_length=64)
    payload = models.JSONField(encoder=DjangoJSONEncoder, default=dict)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.TextField(blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # A relay's claim on the event: no other relay takes it before then (mes.outbox).
    relay_lease_until = models.DateTimeField(null=True, blank=True)

    objects = SiteScopedQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]
        verbose_name = _("outbox event")
        verbose_name_plural = _("outbox events")
        indexes = [
            models.Index(
                fields=["occurred_at"],
                name="outbox_undelivered_idx",
                condition=models.Q(delivered_at__isnull=True),
            ),
            models.Index(fields=["aggregate_type", "aggregate_id"]),
            models.Index(fields=["type", "occurred_at"], name="outbox_type_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.aggregate_type}:{self.aggregate_id}"


class OutboxDelivery(models.Model):
    """Proof that one subscriber handled one event: the unique pair makes redelivery a no-op."""

    scope = INTERNAL

    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    subscriber = models.CharField(max_length=100)
    delivered_at = models.DateTimeField(default=timezone.now)

    objects = InternalQuerySet.as_manager()

    class Meta:
        verbose_name = _("outbox delivery")
        verbose_name_plural = _("outbox deliveries")
        constraints = [
            models.UniqueConstraint(fields=["event", "subscriber"], name="outbox_delivery_once")
        ]

    def __str__(self) -> str:
        return f"{self.event_id} -> {self.subscriber}"
