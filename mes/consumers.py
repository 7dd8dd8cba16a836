"""Channels consumers: one per audience. ``/ws/notifications/`` is the signed-in user's own."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.contrib.auth import get_user_model
from django.db.models import Count, Max, Q

from mes.models import Notification
from mes.notifications import user_group

UNAUTHORIZED = 4401  # websocket close code: not signed in, or no longer allowed


class NotificationConsumer(AsyncJsonWebsocketConsumer):
    """Pushes the user's new notifications as they are created.

    On connect: ``{"type": "hello", "unread": N, "last_id": M}``; then
    ``{"type": "notification", "id", "kind", "title", "body", "link", "site", "created_at",
    "unread"}`` for each new one; ``{"type": "ping"}`` is answered ``{"type": "pong"}``. Every
    message first checks that the user is still active, and closes with 4401 if not.
    """

    user_id: int | None = None

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=UNAUTHORIZED)  # before accept: the handshake is refused
            return
        self.user_id = user.pk
        await self.channel_layer.group_add(user_group(self.user_id), self.channel_name)
        await self.accept()
        unread, last_id = await self._summary()
        await self.send_json({"type": "hello", "unread": unread, "last_id": last_id})

    async def disconnect(self, code):
        if self.user_id is not None:
            await self.channel_layer.group_discard(user_group(self.user_id), self.channel_name)

    async def receive_json(self, content, **kwargs):
        if not await self._still_allowed():
            return
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self.send_json({"type": "error", "code": "unknown_type"})

    async def notification_message(self, event):
        """A push from :func:`mes.notifications.push` to the group ``user.<id>``."""
        if not await self._still_allowed():
            return
        await self.send_json(
            {"type": "notification", **{k: v for k, v in event.items() if k != "type"}}
        )

    async def _still_allowed(self) -> bool:
        if self.user_id is not None and await self._active():
            return True
        await self.close(code=UNAUTHORIZED)
        return False

    @database_sync_to_async
    def _active(self) -> bool:
        return get_user_model().objects.filter(pk=self.user_id, is_active=True).exists()

    @database_sync_to_async
    def _summary(self) -> tuple[int, int]:
        row = Notification.objects.filter(user_id=self.user_id).aggregate(
            unread=Count("pk", filter=Q(read_at__isnull=True)), last_id=Max("pk")
        )
        return row["unread"], row["last_id"] or 0
