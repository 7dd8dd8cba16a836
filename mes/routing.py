"""Websocket routes (mounted by ``mes.asgi``)."""

from django.urls import path

from exceptions.consumers import BoardConsumer
from mes.consumers import NotificationConsumer

websocket_urlpatterns = [
    path("ws/notifications/", NotificationConsumer.as_asgi()),
    path("ws/board/<str:site_code>/", BoardConsumer.as_asgi()),
]
