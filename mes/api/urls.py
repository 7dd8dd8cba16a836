"""``/api/v1/`` routes."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from exceptions.api import ExceptionTypeViewSet, ExceptionViewSet

from . import viewsets
from .notifications import NotificationPreferencesView, NotificationViewSet


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


router = NaturalKeyRouter()
router.register("sites", viewsets.SiteViewSet, basename="site")
router.register("work-centers", viewsets.WorkCenterViewSet, basename="workcenter")
router.register("machines", viewsets.MachineViewSet, basename="machine")
router.register("items", viewsets.ItemViewSet, basename="item")
router.register("work-orders", viewsets.WorkOrderViewSet, basename="workorder")
router.register("operations", viewsets.OperationViewSet, basename="operation")
router.register("lots", viewsets.LotViewSet, basename="lot")
router.register("confirmations", viewsets.ConfirmationViewSet, basename="confirmation")
router.register("exception-types", ExceptionTypeViewSet, basename="exceptiontype")
router.register("exceptions", ExceptionViewSet, basename="exception")
router.register("notifications", NotificationViewSet, basename="notification")

urlpatterns = router.urls
urlpatterns += [
    path("erp/", include("integrations.erp.urls")),
    path(
        "notification-preferences/",
        NotificationPreferencesView.as_view(),
        name="notification-preferences",
    ),
]
