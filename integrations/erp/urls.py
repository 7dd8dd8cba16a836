"""``/api/v1/erp/`` routes."""

from django.urls import path

from . import api

app_name = "erp"

urlpatterns = [
    path("work-orders/batch/", api.WorkOrderBatchView.as_view(), name="work-order-batch"),
    path("items/batch/", api.ItemBatchView.as_view(), name="item-batch"),
    path("work-centers/batch/", api.WorkCenterBatchView.as_view(), name="work-center-batch"),
    path("lots/batch/", api.LotBatchView.as_view(), name="lot-batch"),
    path("events/", api.FeedView.as_view(), name="events"),
    path("events/ack/", api.FeedAckView.as_view(), name="events-ack"),
    path("reconciliation/", api.ReconciliationView.as_view(), name="reconciliation"),
    path("time-to-erp/", api.TimeToErpView.as_view(), name="time-to-erp"),
]
