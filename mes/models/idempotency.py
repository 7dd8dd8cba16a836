"""Stored answers to requests that carried an ``Idempotency-Key`` (see :mod:`mes.idempotency`)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .base import INTERNAL, InternalQuerySet


class IdempotencyRecord(models.Model):
    """The answer given to one ``(user, key)``: a retry with the same request gets it again.

    Written in the same transaction as the change the request made, so a record exists exactly
    when the change committed. ``request_hash`` fingerprints method, path and body; the same key
    with another request is refused. Generic on purpose: any endpoint may use it.
    """

    scope = INTERNAL

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(_("idempotency key"), max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField()
    # The JSON text as first sent; text, not jsonb, so a replay keeps the key order byte for byte.
    response_body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = InternalQuerySet.as_manager()

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"
