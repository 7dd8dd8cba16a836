"""``/api/v1/``: one router for every app's viewsets (``routes`` in its ``api.urls``), then
the apps' other API paths (``urlpatterns`` there)."""

from rest_framework.routers import DefaultRouter

from .discovery import collect


class NaturalKeyRouter(DefaultRouter):
    """Detail actions are matched before plain detail routes, so a natural key may contain
    slashes: ``work-orders/ZP/2026/07/0001/release/`` releases ``ZP/2026/07/0001``."""

    include_format_suffixes = False
    routes = [
        DefaultRouter.routes[0],  # list
        DefaultRouter.routes[1],  # list actions
        DefaultRouter.routes[3],  # detail actions
        DefaultRouter.routes[2],  # detail
    ]


def api_urlpatterns() -> list:
    router = NaturalKeyRouter()
    for prefix, viewset, basename in collect("api.urls", "routes"):
        router.register(prefix, viewset, basename=basename)
    return [*router.urls, *collect("api.urls", "urlpatterns")]
