"""The access review: who holds the keys, who has not used them, what expires, what was
granted lately; and a manager's signature on having looked. A superuser reviews every account;
a manager the accounts it manages (:func:`mes.services.accounts.accounts_manageable_by`)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mes.errors import NotPermitted
from mes.models import AccessReview, AccountKind, ApiToken, OutboxEvent
from mes.texts import spreadsheet_cell

from .accounts import accounts_manageable_by
from .base import save_with_history

DORMANT_DAYS = 30
SOON_DAYS = 14
RECENT_DAYS = 30


@dataclass
class Row:
    section: str
    account: str
    detail: str
    when: object = None


@dataclass
class Review:
    rows: list[Row] = field(default_factory=list)
    accounts: int = 0

    def section(self, name: str) -> list[Row]:
        return [row for row in self.rows if row.section == name]


SECTIONS = {
    "privileged": gettext_lazy("Superusers and managers"),
    "dormant": gettext_lazy("Not signed in for 30 days"),
    "expiring": gettext_lazy("Accounts expiring within 14 days, or expired"),
    "tokens": gettext_lazy("API tokens expiring within 14 days"),
    "outside": gettext_lazy("Vendor, project and service accounts"),
    "granted": gettext_lazy("Access granted or changed in the last 30 days"),
}


def may_review(actor) -> bool:
    return bool(
        actor is not None
        and actor.is_active
        and (actor.is_superuser or actor.has_perm("auth.change_user"))
    )


def reviewed_accounts(actor):
    accounts = get_user_model().objects.all()
    if actor.is_superuser:
        return accounts
    return accounts.filter(Q(pk__in=accounts_manageable_by(actor)) | Q(pk=actor.pk))


def access_review(actor, now=None) -> Review:
    if not may_review(actor):
        raise NotPermitted(_("Only managers review access."))
    now = now or timezone.now()
    accounts = reviewed_accounts(actor).select_related("account_profile__sponsor")
    review = Review(accounts=accounts.count())
    for user in accounts.filter(Q(is_superuser=True) | Q(groups__name="manager")).distinct():
        what = _("superuser") if user.is_superuser else _("manager")
        review.rows.append(Row("privileged", user.username, what, user.last_login))
    dormant = accounts.filter(is_active=True).filter(
        Q(last_login__lt=now - timedelta(days=DORMANT_DAYS))
        | Q(last_login__isnull=True, date_joined__lt=now - timedelta(days=DORMANT_DAYS))
    )
    for user in dormant:
        review.rows.append(Row("dormant", user.username, _("last sign-in"), user.last_login))
    for user in accounts.filter(account_profile__expires_at__lte=now + timedelta(days=SOON_DAYS)):
        profile = user.account_profile
        state = _("expired") if profile.expired(now) else _("expires")
        review.rows.append(
            Row("expiring", user.username, f"{profile.kind}, {state}", profile.expires_at)
        )
    tokens = ApiToken.objects.filter(
        user__in=accounts, revoked_at__isnull=True, expires_at__lte=now + timedelta(days=SOON_DAYS)
    ).select_related("user")
    for token in tokens:
        review.rows.append(Row("tokens", token.user.username, str(token), token.expires_at))
    outside = accounts.exclude(account_profile__kind=AccountKind.EMPLOYEE).filter(
        account_profile__isnull=False
    )
    for user in outside:
        profile = user.account_profile
        sponsor = profile.sponsor.username if profile.sponsor else "-"
        review.rows.append(
            Row("outside", user.username, f"{profile.kind}, sponsor {sponsor}", profile.expires_at)
        )
    names = set(accounts.values_list("username", flat=True))
    changes = OutboxEvent.objects.filter(
        type="account.changed", occurred_at__gte=now - timedelta(days=RECENT_DAYS)
    ).order_by("-occurred_at")
    for event in changes[:500]:
        payload = event.payload or {}
        if payload.get("username") not in names:
            continue
        roles = ", ".join(payload.get("roles", [])) or "-"
        sites = ", ".join(payload.get("sites", [])) or "-"
        review.rows.append(
            Row("granted", payload["username"], f"roles {roles}; sites {sites}", event.occurred_at)
        )
    return review


def review_csv(review: Review) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "account", "detail", "when"])
    for row in review.rows:
        when = row.when.isoformat() if row.when else ""
        cells = [row.section, row.account, row.detail, when]
        writer.writerow([spreadsheet_cell(cell) for cell in cells])
    return out.getvalue()


def sign_review(actor, *, revoked: str = "", notes: str = "") -> AccessReview:
    """The actor signs that it reviewed the accounts it sees now (who, when, what revoked)."""
    review = access_review(actor)
    with transaction.atomic():
        signed = AccessReview(
            reviewer=actor,
            accounts_seen=review.accounts,
            revoked=(revoked or "").strip()[:4000],
            notes=(notes or "").strip()[:4000],
        )
        save_with_history(signed, actor=actor, reason="access review signed")
    return signed


def reviews_visible_to(actor):
    if actor.is_superuser:
        return AccessReview.objects.select_related("reviewer")
    return AccessReview.objects.select_related("reviewer").filter(reviewer=actor)
