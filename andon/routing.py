"""Websocket routes: every app's ``routing.websocket_urlpatterns`` (mounted by ``andon.asgi``),
then one that refuses any other path with close code 4404."""

from django.urls import re_path

from mes.consumers import NoSuchSocket

from .discovery import collect

websocket_urlpatterns = [
    *collect("routing", "websocket_urlpatterns"),
    re_path(r"", NoSuchSocket.as_asgi()),
]
