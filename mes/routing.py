"""The production core's websocket routes (collected by :mod:`andon.routing`)."""

from django.urls import path

from mes.consumers import NotificationConsumer

websocket_urlpatterns = [path("ws/notifications/", NotificationConsumer.as_asgi())]
