"""Websocket of the live exception board: ``/ws/board/<site_code>/``.

Pushes are hints (``{"type": "board.changed", "exception_id", "number"}``): the page then
fetches the fresh board fragment over HTTP, which is scoped like every other page.
"""

from __future__ import annotations

from channels.db import database_sync_to_async

from mes.access import can_access_site
from mes.backends import is_service_account
from mes.consumers import UNAUTHORIZED, SignedInConsumer
from mes.models import Site

VIEW = "exceptions.view_exceptionticket"

NOT_FOUND = 4404  # no such site, or not one the user may see


def board_group(site_id: int) -> str:
    """The channel group every board connection of one site joins."""
    return f"board.{site_id}"


class BoardConsumer(SignedInConsumer):
    """Same authentication and refusal rules as :class:`~mes.consumers.SignedInConsumer`;
    additionally refuses users who cannot access the site, and closes when they lose it."""

    site_id: int | None = None

    async def connect(self):
        user = self.signed_in_user()
        if user is None:
            await self.close(code=UNAUTHORIZED)
            return
        site_code = self.scope["url_route"]["kwargs"]["site_code"]
        site_id = await self._site_id(user, site_code)
        if site_id is None:
            await self.close(code=NOT_FOUND)
            return
        self.site_id = site_id
        await self.join(user, board_group(site_id))
        await self.accept()
        await self.send_json({"type": "hello", "site": site_code})

    async def board_changed(self, event):
        """A hint from :func:`exceptions.board.on_exception_events` to ``board.<site_id>``."""
        if not await self.still_allowed():
            return
        await self.send_json(
            {
                "type": "board.changed",
                "exception_id": event.get("exception_id"),
                "number": event.get("number"),
            }
        )

    def allowed_here(self, user) -> bool:
        """The user still sees the site's tickets (a revoked grant closes the board at once)."""
        return _sees_board(user, self.site_id)

    @database_sync_to_async
    def _site_id(self, user, code: str) -> int | None:
        site = Site.objects.filter(code=code, is_active=True).first()
        if site is None or not _sees_board(user, site.pk):
            return None
        return site.pk


def _sees_board(user, site_id: int) -> bool:
    """A person (not a service account, which has only its endpoints) who may view tickets
    at the site."""
    return user.has_perm(VIEW) and can_access_site(user, site_id) and not is_service_account(user)
