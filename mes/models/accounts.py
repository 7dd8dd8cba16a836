"""Account lifecycle: what kind of account it is, who sponsors it and when it expires.

Every kind but ``employee`` expires (at most ``ACCOUNT_MAX_DAYS`` ahead, 90). An expired
account is refused at once everywhere: the session loader, the password sign-in, tokens and
websockets all ask :func:`account_usable`; a periodic task then deactivates it, writes why in
its history and tells the sponsor, who is told 14 and 3 days before as well.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .base import INTERNAL, HistoryAuditFields, InternalQuerySet


class AccountKind(models.TextChoices):
    EMPLOYEE = "employee", _("employee")
    PROJECT = "project", _("project (implementation, consultant)")
    VENDOR = "vendor", _("vendor")
    SERVICE = "service", _("service (ERP, machines)")


class AccountProfile(models.Model):
    """One per account (an account without one is an employee's with no sponsor yet)."""

    scope = INTERNAL  # read and changed through the account pages and services

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="account_profile",
        verbose_name=_("account"),
    )
    kind = models.CharField(
        _("kind"), max_length=10, choices=AccountKind.choices, default=AccountKind.EMPLOYEE
    )
    sponsor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="sponsored_accounts",
        verbose_name=_("sponsor"),
        help_text=_("Who answers for this account, and is told before it expires."),
    )
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    warned_14_at = models.DateTimeField(null=True, blank=True, editable=False)
    warned_3_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = InternalQuerySet.as_manager()
    history = HistoricalRecords(
        bases=[HistoryAuditFields], excluded_fields=["warned_14_at", "warned_3_at"]
    )

    class Meta:
        verbose_name = _("account lifecycle")
        verbose_name_plural = _("account lifecycles")

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}"

    def expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())


def account_usable(user, now=None) -> bool:
    """Active and not past its expiry. Reads ``user.account_profile`` (select it with the
    user where it matters: the session loader and the token lookup do)."""
    if user is None or not getattr(user, "is_active", False):
        return False
    try:
        profile = user.account_profile
    except AccountProfile.DoesNotExist:
        return True
    return not profile.expired(now)


class AccessReview(models.Model):
    """A manager's signed review of who holds what: when, what they found and revoked."""

    scope = INTERNAL  # listed on the access review page to those who may review

    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("reviewer"),
    )
    signed_at = models.DateTimeField(_("signed"), default=timezone.now)
    accounts_seen = models.PositiveIntegerField(_("accounts reviewed"), default=0)
    revoked = models.TextField(_("what was revoked"), blank=True, max_length=4000)
    notes = models.TextField(_("notes"), blank=True, max_length=4000)

    objects = InternalQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields])

    class Meta:
        ordering = ["-signed_at"]
        verbose_name = _("access review")
        verbose_name_plural = _("access reviews")

    def __str__(self) -> str:
        return f"{self.reviewer_id} {self.signed_at:%Y-%m-%d}"
