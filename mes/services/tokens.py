"""API tokens and websocket tickets (models in :mod:`mes.models.tokens`).

A user makes and revokes their own tokens; a manager does so for the accounts they manage
(:func:`mes.services.accounts.accounts_manageable_by`), a superuser for anyone. A token never
holds more than its user: its sites are among the user's, and a read-only token writes nothing.
Revoking a token, like losing a site or the account, closes the sockets it opened at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from mes import config_cache
from mes.access import visible_site_ids
from mes.backends import is_service_account
from mes.errors import InvalidInput, NotPermitted
from mes.models import (
    ApiToken,
    Site,
    TokenScope,
    WebsocketTicket,
    account_usable,
)
from mes.models.tokens import digest_of, new_key
from mes.notifications import revoke_sessions
from mes.outbox import emit_event

from .accounts import accounts_manageable_by
from .base import default_reason, save_with_history

TICKET_SECONDS = 30


def may_manage_tokens_of(actor, user) -> bool:
    if actor is None or actor.is_superuser:
        return True
    if not actor.is_authenticated or not actor.is_active:
        return False
    if actor.pk == user.pk:
        return True
    return accounts_manageable_by(actor).filter(pk=user.pk).exists()


def tokens_manageable_by(actor):
    """The tokens ``actor`` sees and may revoke: their own and those of accounts they manage."""
    tokens = ApiToken.objects.select_related("user")
    if actor is not None and actor.is_superuser:
        return tokens
    if actor is None or not actor.is_authenticated or not actor.is_active:
        return tokens.none()
    own = tokens.filter(user=actor)
    if not actor.has_perm("auth.change_user"):
        return own
    return own | tokens.filter(user__in=accounts_manageable_by(actor))


def max_token_days() -> int:
    return settings.ANDON_TOKEN_MAX_DAYS


def create_token(
    user,
    *,
    actor,
    name: str,
    access: str = TokenScope.FULL,
    expires_at: datetime | None = None,
    sites: Iterable[Site] = (),
    reason: str = "",
    via: ApiToken | None = None,
) -> tuple[ApiToken, str]:
    """Make a token for ``user``; returns it with its key, which is never available again.
    Refused (403 ``not_delegable``) for an account the actor does not manage; 400 for a
    missing name, a past or too distant expiry, an unknown scope, or a site the user lacks.

    Made through a token (``via``, the one the request came with), the new token holds no
    more than that one: its sites (by default, all of them), at most its scope, and it
    expires no later."""
    if not may_manage_tokens_of(actor, user):
        raise NotPermitted(_("This account is not yours to manage."), code="not_delegable")
    if actor is not None and actor.pk != user.pk and not actor.is_superuser:
        if not is_service_account(user):
            # A manager's token of a person would let the manager act as that person.
            raise NotPermitted(
                _("A person makes their own tokens; managers make those of service accounts."),
                code="not_delegable",
            )
    if not user.is_active:
        raise InvalidInput(_("The account is inactive."), code="account_inactive")
    name = (name or "").strip()
    if not name:
        raise InvalidInput(
            _("Name the token after what uses it."),
            code="name_required",
            fields={"name": [_("This field is required.")]},
        )
    if access not in TokenScope.values:
        raise InvalidInput(
            _("Scope is one of: %(scopes)s.") % {"scopes": ", ".join(TokenScope.values)},
            code="invalid_scope",
            fields={"access": [_("Unknown scope.")]},
        )
    now = timezone.now()
    longest = now + timedelta(days=max_token_days())
    if expires_at is None and via is not None:
        expires_at = min(longest, via.expires_at)
    expires_at = expires_at or longest
    if expires_at <= now or expires_at > longest + timedelta(minutes=1):
        days = {"days": max_token_days()}
        raise InvalidInput(
            _("A token expires within %(days)s days from now.") % days,
            code="invalid_expiry",
            fields={"expires_at": [_("Between now and %(days)s days.") % days]},
        )
    sites = list(sites)
    if via is not None:
        access, expires_at, sites = _within(via, access, expires_at, sites)
    held = visible_site_ids(user)
    if any(site.pk not in held for site in sites):
        raise InvalidInput(
            _("A token may be limited only to sites its user has."),
            code="not_delegable",
            fields={"sites": [_("Only the user's sites.")]},
        )
    key = new_key()
    token = ApiToken(
        user=user,
        name=name[:100],
        prefix=key[:12],
        digest=digest_of(key),
        access=access,
        expires_at=expires_at,
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    reason = default_reason(reason, "token created")
    with transaction.atomic():
        save_with_history(token, actor=actor, reason=reason)
        if sites:
            token.sites.set(sites)
        _emit("api_token.changed", token, actor, reason)
    return token, key


def _within(via: ApiToken, access: str, expires_at: datetime, sites: list[Site]):
    """What a token made through ``via`` may hold (see :func:`create_token`)."""
    if via.read_only:
        access = TokenScope.READ
    if expires_at > via.expires_at:
        raise InvalidInput(
            _("A token made with a token expires no later than it."),
            code="not_delegable",
            fields={"expires_at": [_("No later than the token you use.")]},
        )
    limit = list(via.sites.all())
    if limit:
        allowed = {site.pk for site in limit}
        if any(site.pk not in allowed for site in sites):
            raise InvalidInput(
                _("A token made with a token is limited to its sites."),
                code="not_delegable",
                fields={"sites": [_("Only the sites of the token you use.")]},
            )
        sites = sites or limit
    return access, expires_at, sites


def revoke_token(token: ApiToken, *, actor, reason: str = "") -> ApiToken:
    """Revoke ``token`` (idempotent); its open websockets close at once."""
    if not may_manage_tokens_of(actor, token.user):
        raise NotPermitted(_("This token is not yours to revoke."), code="not_delegable")
    if token.revoked_at is not None:
        return token
    reason = default_reason(reason, "token revoked")
    with transaction.atomic():
        token.revoked_at = timezone.now()
        token.revoked_by = actor if actor is not None and actor.is_authenticated else None
        save_with_history(token, actor=actor, reason=reason, fields=["revoked_at", "revoked_by"])
        _emit("api_token.changed", token, actor, reason)
        user_id = token.user_id
        transaction.on_commit(lambda: revoke_sessions(user_id))
    return token


def revoke_tokens_of(user, *, actor, reason: str = "") -> int:
    tokens = list(ApiToken.objects.filter(user=user, revoked_at__isnull=True))
    for token in tokens:
        revoke_token(token, actor=actor, reason=reason)
    return len(tokens)


def _emit(event_type: str, token: ApiToken, actor, reason: str) -> None:
    emit_event(
        event_type,
        aggregate=token,
        actor=actor,
        reason=reason,
        payload={
            "id": token.pk,
            "user": token.user.get_username(),
            "name": token.name,
            "scope": token.access,
            "sites": sorted(token.sites.values_list("code", flat=True)),
            "expires_at": token.expires_at.isoformat(),
            "revoked": token.revoked_at is not None,
        },
    )


# --- using a token ----------------------------------------------------------------------

LAST_USED_EVERY = timedelta(minutes=1)  # a write per minute per token, not per request


def token_for_key(key: str, *, address: str | None = None) -> ApiToken | None:
    """The usable token whose key is ``key`` (its user loaded, its site limit applied to
    the user), or None. Records when and from where it was used, at most once a minute."""
    if not key or len(key) > 200:
        return None
    token = (
        ApiToken.objects.usable()
        .select_related("user", "user__account_profile")
        .annotate(
            limited=Exists(ApiToken.sites.through.objects.filter(apitoken=OuterRef("pk"))),
            # the configuration's generation, so the request needs no statement of its own
            config_generation=config_cache.generation_subquery(),
        )
        .filter(digest=digest_of(key))
        .first()
    )
    if token is None or not account_usable(token.user):
        return None
    config_cache.prime(token.config_generation)
    # a service account (the roles and permissions it holds are kept with the configuration)
    token.service = is_service_account(token.user)
    now = timezone.now()
    if (
        token.last_used_at is None
        or now - token.last_used_at > LAST_USED_EVERY
        or (address and address != token.last_used_from)
    ):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_from=address)
        token.last_used_at, token.last_used_from = now, address
    limit_to_token(token.user, token)
    return token


def limit_to_token(user, token: ApiToken) -> None:
    """Make ``user`` (this request's copy) see only the token's sites, when it names any
    (``token.limited``, when annotated, saves the query for a token that names none)."""
    from mes.models.access import limit_sites

    if not getattr(token, "limited", True):
        return
    sites = frozenset(token.sites.values_list("pk", flat=True))
    limit_sites(user, sites or None)


# --- websocket tickets --------------------------------------------------------------------


def issue_ws_ticket(user, *, token: ApiToken | None = None) -> tuple[str, int]:
    """A single-use ticket for one websocket of ``user`` (opened with ``token``, if any):
    ``(ticket, seconds it is valid)``."""
    key = new_key()
    now = timezone.now()
    WebsocketTicket.objects.filter(expires_at__lt=now - timedelta(minutes=5)).delete()
    WebsocketTicket.objects.create(
        digest=digest_of(key),
        user=user,
        token=token,
        expires_at=now + timedelta(seconds=TICKET_SECONDS),
    )
    return key, TICKET_SECONDS


def redeem_ws_ticket(key: str):
    """``(user, token or None)`` for a valid, unused ticket, which is used up; else None."""
    if not key or len(key) > 200:
        return None
    now = timezone.now()
    with transaction.atomic():
        ticket = (
            WebsocketTicket.objects.select_for_update(of=("self",))
            .select_related("user", "user__account_profile", "token")
            .filter(digest=digest_of(key), used_at__isnull=True, expires_at__gt=now)
            .first()
        )
        if ticket is None:
            return None
        ticket.used_at = now
        ticket.save(update_fields=["used_at"])
    user, token = ticket.user, ticket.token
    if not account_usable(user) or (token is not None and not token.is_usable(now)):
        return None
    if token is not None:
        limit_to_token(user, token)
    return user, token
