"""The production core's API routes (collected by :mod:`andon.api` under ``/api/v1/``)."""

from django.urls import path

from . import viewsets
from .machines import DowntimeViewSet, OeeView
from .notifications import NotificationPreferencesView, NotificationViewSet
from .shipments import ShipmentViewSet
from .tokens import TokenViewSet, WebsocketTicketView

routes = [
    ("sites", viewsets.SiteViewSet, "site"),
    ("work-centers", viewsets.WorkCenterViewSet, "workcenter"),
    ("machines", viewsets.MachineViewSet, "machine"),
    ("items", viewsets.ItemViewSet, "item"),
    ("work-orders", viewsets.WorkOrderViewSet, "workorder"),
    ("operations", viewsets.OperationViewSet, "operation"),
    ("lots", viewsets.LotViewSet, "lot"),
    ("confirmations", viewsets.ConfirmationViewSet, "confirmation"),
    ("shipments", ShipmentViewSet, "shipment"),
    ("downtimes", DowntimeViewSet, "downtime"),
    ("notifications", NotificationViewSet, "notification"),
    ("tokens", TokenViewSet, "apitoken"),
]

urlpatterns = [
    path("oee/", OeeView.as_view(), name="oee"),
    path("ws-tickets/", WebsocketTicketView.as_view(), name="ws-ticket"),
    path(
        "notification-preferences/",
        NotificationPreferencesView.as_view(),
        name="notification-preferences",
    ),
]
