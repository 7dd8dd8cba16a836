"""Websocket routes (mounted by ``mes.asgi``)."""

from django.urls import path

from mes.consumers import NotificationConsumer

websocket_urlpatterns = [
    path("ws/notifications/", NotificationConsumer.as_asgi()),
]
