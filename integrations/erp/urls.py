"""Pages of the ERP integration."""

from django.urls import path

from . import views

urlpatterns = [
    path("erp/reconciliation/", views.reconciliation_page, name="erp-reconciliation"),
]
