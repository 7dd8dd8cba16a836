"""``/api/v1/erp/`` routes (collected by :mod:`andon.api`), namespace ``erp``."""

from django.urls import include, path

from . import views

app_name = "erp"

erp_paths = [
    path("work-orders/batch/", views.WorkOrderBatchView.as_view(), name="work-order-batch"),
    path("items/batch/", views.ItemBatchView.as_view(), name="item-batch"),
    path("work-centers/batch/", views.WorkCenterBatchView.as_view(), name="work-center-batch"),
    path("lots/batch/", views.LotBatchView.as_view(), name="lot-batch"),
    path("events/", views.FeedView.as_view(), name="events"),
    path("events/ack/", views.FeedAckView.as_view(), name="events-ack"),
    path("reconciliation/", views.ReconciliationView.as_view(), name="reconciliation"),
    path("time-to-erp/", views.TimeToErpView.as_view(), name="time-to-erp"),
]

urlpatterns = [path("erp/", include((erp_paths, app_name)))]
