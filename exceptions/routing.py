"""The exceptions app's websocket routes (collected by :mod:`andon.routing`)."""

from django.urls import path

from .consumers import BoardConsumer

websocket_urlpatterns = [path("ws/board/<str:site_code>/", BoardConsumer.as_asgi())]
