"""``/api/v1/opcua/`` routes (collected by :mod:`andon.api`)."""

from django.urls import path

from .views import CollectorHealthView

urlpatterns = [path("opcua/health/", CollectorHealthView.as_view(), name="opcua-health")]
