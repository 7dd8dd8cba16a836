"""``/api/v1/imports/`` routes (collected by :mod:`andon.api`)."""

from django.urls import path

from .views import ExecutionAuditView, ImportJobViewSet

routes = [("imports", ImportJobViewSet, "importjob")]
urlpatterns = [
    path("execution-audit/", ExecutionAuditView.as_view(), name="execution-audit"),
]
