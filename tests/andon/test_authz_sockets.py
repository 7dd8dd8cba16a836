"""Issue 12: the authorization matrix of the websocket routes (andon.routing, every app's
``routing`` module): each route opened for the caller's own site and for another site (a
route without a site asks the same both times), by every role with its token, and at the own
site anonymously, by an expired account and with a revoked token. O = opened; otherwise the
close code's letter: U 4401 (who are you?), N 4404 (no such board for you). A new route
without an entry fails."""

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.urls import URLPattern

from mes.roles import ROLES
from tests.authz_matrix import arguments, fill
from tests.authz_world import make_callers, mismatches

pytestmark = pytest.mark.django_db(transaction=True)

IN_MEMORY = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
CLOSED = {4401: "U", 4403: "F", 4404: "N"}

EXPECTED = {
    "ws/board/<str:site_code>/": "ON ON ON ON ON ON ON ON OO NN UUU",
    "ws/notifications/": "OO OO OO OO OO OO OO OO OO OO UUU",
}


def socket_routes() -> dict[str, str]:
    """{route pattern: the consumer's name} of every route but the catch-all."""
    from andon.routing import websocket_urlpatterns

    return {
        str(entry.pattern): entry.callback.__name__
        for entry in websocket_urlpatterns
        if isinstance(entry, URLPattern) and str(entry.pattern)
    }


async def _open(path: str, key: str | None) -> str:
    from andon.asgi import application

    headers = [(b"authorization", f"Token {key}".encode())] if key else []
    socket = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await socket.connect()
    if connected:
        await socket.disconnect()
        return "O"
    return CLOSED.get(code, str(code))


def observe(p1, p2) -> dict[str, str]:
    callers = make_callers(p1)
    found = {}
    for pattern in sorted(socket_routes()):
        values = {
            side: {name: site.code for name in arguments(pattern)}
            for side, site in (("own", p1), ("other", p2))
        }
        paths = {side: fill(pattern, values[side]) for side in values}
        groups = [
            "".join(
                async_to_sync(_open)(paths[side], callers.keys[role]) for side in ("own", "other")
            )
            for role in ROLES
        ]
        groups.append(
            "".join(
                async_to_sync(_open)(paths["own"], callers.keys.get(column))
                for column in ("anonymous", "expired", "revoked")
            )
        )
        found[pattern] = " ".join(groups)
    return found


def test_every_socket_answers_as_the_table_says(p1, p2, settings):
    settings.CHANNEL_LAYERS = IN_MEMORY
    found = observe(p1, p2)
    columns = f"pairs (own, other) of {' '.join(ROLES)}; anonymous, expired, revoked"
    assert found == EXPECTED, f"{columns}\n{mismatches(found, EXPECTED)}"
