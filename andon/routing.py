"""Websocket routes: every app's ``routing.websocket_urlpatterns`` (mounted by ``andon.asgi``)."""

from .discovery import collect

websocket_urlpatterns = collect("routing", "websocket_urlpatterns")
