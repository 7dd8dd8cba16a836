"""ASGI entry point: HTTP through Django, websockets through the apps' Channels consumers.

Websockets pass the origin check (cross-site browsers refused; clients without ``Origin`` let
in), then session, ticket or token authentication, then the routes every app contributes in its
``routing`` module (:mod:`andon.routing`).
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "andon.settings")

django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from andon.routing import websocket_urlpatterns  # noqa: E402
from mes.ws_auth import CredentialOrSessionAuth, allowed_origins  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": allowed_origins(CredentialOrSessionAuth(URLRouter(websocket_urlpatterns))),
    }
)

# Embedded mode (`make demo`: no Redis, tasks in-process): this process also runs the periodic
# sweeps. Opt-in, so importing the application (tests, tools) never starts a thread.
if os.environ.get("ANDON_INPROCESS_SWEEPS") == "1":
    from andon.inprocess import start_periodic_sweeps

    start_periodic_sweeps()
