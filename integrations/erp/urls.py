"""``/api/v1/erp/`` routes."""

from django.urls import path

from . import api

app_name = "erp"

urlpatterns = [
    path("work-orders/batch/", api.WorkOrderBatchView.as_view(), name="work-order-batch"),
]
