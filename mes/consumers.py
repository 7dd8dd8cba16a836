"""Channels consumers: one per audience. ``/ws/notifications/`` is the signed-in user's own."""

from __future__ import annotations

import random
import time
from collections import deque
from importlib import import_module

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.db.models import Count, Max, Q
from django.utils.crypto import constant_time_compare

from mes import config_cache
from mes.access import visible_site_ids
from mes.backends import role_names
from mes.models import ApiToken, Notification, account_usable
from mes.notifications import role_group, session_group, user_group
from mes.services.tokens import limit_to_token

UNAUTHORIZED = 4401  # websocket close code: not signed in, or no longer allowed
RECHECK_SECONDS = 30  # how stale "the user is still active" may be when a push goes out
# Each socket re-checks after its own share of RECHECK_SECONDS (between half and all of it):
# sockets opened together (a shift starting) do not all re-check on the same push.
RECHECK_SPREAD = 0.5


class SignedInConsumer(AsyncJsonWebsocketConsumer):
    """Base of every Andon websocket: refuses anonymous and inactive users before the handshake,
    joins ``session.<user id>`` so that a deactivation, a revoked token or a lost site closes
    it at once (:func:`mes.notifications.revoke_sessions`), and re-checks on every client
    message (always) and on pushes (at most every ``RECHECK_SECONDS``: a fan-out to hundreds
    of sockets must not cost hundreds of queries). What is re-checked: the account is active,
    the token the socket was opened with (if any) is still usable, and :meth:`allowed_here`
    (a subclass's own condition, e.g. the board's site) still holds."""

    user_id: int | None = None
    groups_joined: tuple[str, ...] = ()
    checked_at: float = 0.0
    recheck_seconds: float = RECHECK_SECONDS

    def signed_in_user(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            return None
        return user

    async def join(self, user, *groups: str) -> None:
        self.user_id = user.pk
        self.groups_joined = (session_group(user.pk), *groups)
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        self.checked_at = time.monotonic()
        self.recheck_seconds = RECHECK_SECONDS * random.uniform(1 - RECHECK_SPREAD, 1)  # noqa: S311

    async def disconnect(self, code):
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if not await self.still_allowed(fresh=True):
            return
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self.send_json({"type": "error", "code": "unknown_type"})

    async def session_revoke(self, event):
        """From :func:`mes.notifications.revoke_sessions`: check now (the hint may be stale)."""
        await self.still_allowed(fresh=True)

    async def still_allowed(self, *, fresh: bool = False) -> bool:
        now = time.monotonic()
        if self.user_id is not None and not fresh and now - self.checked_at < self.recheck_seconds:
            return True
        if self.user_id is not None and await self._active():
            self.checked_at = now
            await self.rechecked()
            return True
        await self.close(code=UNAUTHORIZED)
        return False

    @database_sync_to_async
    def _active(self) -> bool:
        with config_cache.scope():  # the generation read once for the whole check
            return self._check()

    def _check(self) -> bool:
        user = (
            get_user_model()
            .objects.select_related("account_profile")
            .filter(pk=self.user_id)
            .first()
        )
        if user is None or not account_usable(user):
            return False
        token_id = self.scope.get("andon_token_id")
        if token_id is not None:
            token = ApiToken.objects.usable().filter(pk=token_id).first()
            if token is None:
                return False
            limit_to_token(user, token)
        elif not self._session_lives(user):
            return False  # signed out (or the session ended): its sockets end with it
        return self.allowed_here(user)

    def _session_lives(self, user) -> bool:
        """A socket opened with a browser's session lives while that session does: not
        signed out, and the password unchanged since (Django's session hash, as a request
        would check it)."""
        if "andon_token_id" in self.scope:  # opened with a ticket or a token
            return True
        key = getattr(self.scope.get("session"), "session_key", None)
        if key is None:
            return False
        stored = import_module(settings.SESSION_ENGINE).SessionStore(key).load()
        if str(stored.get(SESSION_KEY)) != str(user.pk):
            return False
        return constant_time_compare(stored.get(HASH_SESSION_KEY, ""), user.get_session_auth_hash())

    def allowed_here(self, user) -> bool:
        """A subclass's own condition, checked with a fresh copy of the user (sync)."""
        return True

    async def rechecked(self) -> None:
        """After a re-check that passed: a subclass follows what changed (its groups)."""


class NotificationConsumer(SignedInConsumer):
    """Pushes the user's new notifications as they are created.

    On connect: ``{"type": "hello", "unread": N, "last_id": M}``; then
    ``{"type": "notification", "id", "kind", "title", "body", "link", "site", "created_at",
    "unread"}`` for each new one; ``{"type": "ping"}`` is answered ``{"type": "pong"}``.
    """

    role_groups: list[str] = []

    async def connect(self):
        user = self.signed_in_user()
        if user is None:
            await self.close(code=UNAUTHORIZED)  # before accept: the handshake is refused
            return
        self.pushed = deque(maxlen=200)  # rows already forwarded (one per role group sent)
        self.role_groups = await self._role_groups(user)
        await self.join(user, user_group(user.pk), *self.role_groups)
        await self.accept()
        unread, last_id = await self._summary()
        await self.send_json({"type": "hello", "unread": unread, "last_id": last_id})

    async def notification_message(self, event):
        """A push from :func:`mes.notifications.push` to the group ``user.<id>``."""
        if not await self.still_allowed():
            return
        await self.send_json(
            {"type": "notification", **{k: v for k, v in event.items() if k != "type"}}
        )

    async def notification_fanout(self, event):
        """A push to a role group (:func:`mes.notifications.push`): this user's entry, if
        the message names one (muted, excluded or no longer a member: nothing)."""
        entry = event.get("users", {}).get(str(self.user_id))
        if entry is None or entry[0] in self.pushed:
            return
        self.pushed.append(entry[0])
        if not await self.still_allowed():
            return
        common = {k: v for k, v in event.items() if k not in ("type", "users")}
        await self.send_json({"type": "notification", "id": entry[0], **common, "unread": entry[1]})

    def allowed_here(self, user) -> bool:
        self.fresh_role_groups = self._groups_of(user)
        return True

    async def rechecked(self) -> None:
        """After every re-check (an account change sends one at once): follow the user's
        roles and sites into the role groups they now belong to, and out of the others."""
        groups = getattr(self, "fresh_role_groups", self.role_groups)
        for group in set(self.role_groups) - set(groups):
            await self.channel_layer.group_discard(group, self.channel_name)
        for group in set(groups) - set(self.role_groups):
            await self.channel_layer.group_add(group, self.channel_name)
        kept = (g for g in self.groups_joined if g not in self.role_groups)
        self.groups_joined, self.role_groups = (*kept, *groups), groups

    @database_sync_to_async
    def _role_groups(self, user) -> list[str]:
        return self._groups_of(user)

    @staticmethod
    def _groups_of(user) -> list[str]:
        """The role groups of the user's roles at the sites they see (what a message to a
        role names is decided when it is sent: a group joined here only carries it)."""
        return [
            role_group(site_id, role)
            for site_id in sorted(visible_site_ids(user))
            for role in sorted(role_names(user))
        ]

    @database_sync_to_async
    def _summary(self) -> tuple[int, int]:
        row = Notification.objects.filter(user_id=self.user_id).aggregate(
            unread=Count("pk", filter=Q(read_at__isnull=True)), last_id=Max("pk")
        )
        return row["unread"], row["last_id"] or 0


NOT_FOUND = 4404


class NoSuchSocket(AsyncJsonWebsocketConsumer):
    """Every path no route claims: the handshake is refused with 4404 (not a server error)."""

    async def connect(self):
        await self.close(code=NOT_FOUND)
