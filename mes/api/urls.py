"""The production core's API routes (collected by :mod:`andon.api` under ``/api/v1/``)."""

from django.urls import path

from . import history, viewsets
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
    path("history/", history.HistorySearchView.as_view(), name="history"),
    path("history/export/", history.HistoryExportView.as_view(), name="history-export"),
    path(
        "history/<str:kind>/<int:pk>/",
        history.RecordHistoryView.as_view(),
        name="history-record",
    ),
    path(
        "history/<str:kind>/<int:pk>/as-of/",
        history.RecordAsOfView.as_view(),
        name="history-as-of",
    ),
    path("audit/runs/", history.AuditRunsView.as_view(), name="audit-runs"),
    path("oee/", OeeView.as_view(), name="oee"),
    path("ws-tickets/", WebsocketTicketView.as_view(), name="ws-ticket"),
    path(
        "notification-preferences/",
        NotificationPreferencesView.as_view(),
        name="notification-preferences",
    ),
]
