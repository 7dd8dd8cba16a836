"""API tokens and websocket tickets: credentials stored only as a digest.

An :class:`ApiToken` belongs to one user, has a name, an expiry, a scope (read-only, or the
user's own permissions) and optionally the sites it is limited to; it records when and from
where it was last used, and it is revoked, never deleted (its history stays). The key is shown
once, when it is made: only its SHA-256 digest and a short prefix (to tell tokens apart) are
kept. Keys are 256 random bits, so a fast digest is enough: nobody guesses one.

A :class:`WebsocketTicket` is what a script gets (``POST /api/v1/ws-tickets/``) to open a
websocket without a long-lived token in the URL: valid for seconds, used once.
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .base import INTERNAL, OWNER, ChainedEntry, HistoryAuditFields, InternalQuerySet, OwnerQuerySet
from .sites import Site

KEY_PREFIX = "andon_"  # a scanner for leaked secrets recognises the kind of key


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def digest_of(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class TokenScope(models.TextChoices):
    READ = "read", _("read only")
    FULL = "full", _("the user's permissions")


class ApiTokenQuerySet(OwnerQuerySet):
    def usable(self, now=None):
        """Neither revoked nor expired, and its user active."""
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True, expires_at__gt=now, user__is_active=True)


class ApiToken(models.Model):
    """One named API credential of one user (see the module docstring)."""

    scope = OWNER

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        verbose_name=_("user"),
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("key starts with"), max_length=16, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    access = models.CharField(
        _("scope"), max_length=8, choices=TokenScope.choices, default=TokenScope.FULL
    )
    sites = models.ManyToManyField(
        Site,
        blank=True,
        related_name="+",
        verbose_name=_("limited to sites"),
        help_text=_("None: every site the user has."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
        editable=False,
    )
    expires_at = models.DateTimeField(_("expires"))
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    last_used_from = models.GenericIPAddressField(
        _("last used from"), null=True, blank=True, editable=False
    )
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("revoked by"),
        editable=False,
    )

    objects = ApiTokenQuerySet.as_manager()
    history = HistoricalRecords(
        bases=[HistoryAuditFields],
        excluded_fields=["digest", "last_used_at", "last_used_from"],
        m2m_fields=["sites"],
        m2m_bases=[ChainedEntry],
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def read_only(self) -> bool:
        return self.access == TokenScope.READ

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and self.expires_at > now

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "active" if self.expires_at > timezone.now() else "expired"


class WebsocketTicket(models.Model):
    """A single-use credential for opening one websocket, valid for seconds."""

    scope = INTERNAL

    digest = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, null=True, related_name="+")
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True)

    objects = InternalQuerySet.as_manager()

    def __str__(self) -> str:
        return f"ticket of user {self.user_id}"
