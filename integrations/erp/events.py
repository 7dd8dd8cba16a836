"""The ERP integration's outbox event types (see :mod:`mes.events`)."""

from django.utils.translation import gettext_lazy as _

from mes.events import catalogue, event

event(
    "erp_endpoint.changed",
    _("ERP endpoint created or changed (address, events, sites; secrets only by name)"),
    catalogue.field_sets["configuration"],
    "integrations.erp.services.save_endpoint",
)
