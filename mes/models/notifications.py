"""Notifications: one message row per recipient, and per-user mutes by kind.

A notification is a message, not a domain record: no history, never edited except for
``read_at``. Kinds are plain strings registered in :mod:`mes.notifications` (later capabilities
add kinds without a migration).
"""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .base import OWNER, OwnerQuerySet
from .outbox import OutboxEvent
from .sites import Site


class NotificationQuerySet(OwnerQuerySet):
    def unread(self):
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    """One message to one user, produced from one outbox event; ``read_at`` marks it read.

    ``(event, user, kind)`` is unique, so a redelivered event can never notify twice.
    """

    scope = OWNER

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("user"),
    )
    kind = models.CharField(_("kind"), max_length=40)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"), blank=True)
    link = models.CharField(_("link"), max_length=300, blank=True)
    site = models.ForeignKey(
        Site,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("site"),
    )
    related_type = models.ForeignKey(
        ContentType, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    related_id = models.CharField(max_length=64, blank=True)
    related = GenericForeignKey("related_type", "related_id")
    event = models.ForeignKey(
        OutboxEvent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-pk"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            models.Index(fields=["user", "id"], name="notification_user_idx"),
            models.Index(
                fields=["user", "id"],
                name="notification_unread_idx",
                condition=models.Q(read_at__isnull=True),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "user", "kind"], name="notification_once_per_event"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} -> {self.user_id}: {self.title}"


class NotificationPreference(models.Model):
    """A user's choice for one kind of notification; a muted kind is never created for them."""

    scope = OWNER

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notification_preferences",
        verbose_name=_("user"),
    )
    kind = models.CharField(_("kind"), max_length=40)
    muted = models.BooleanField(_("muted"), default=True)

    objects = OwnerQuerySet.as_manager()

    class Meta:
        ordering = ["user", "kind"]
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="notification_preference_once")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {'muted' if self.muted else 'on'}"
