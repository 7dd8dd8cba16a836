"""The OPC UA app's outbox event types (see :mod:`mes.events`)."""

from django.utils.translation import gettext_lazy as _

from mes.events import catalogue, event

event(
    "opcua.configuration_changed",
    _("OPC UA server or machine on a server changed"),
    catalogue.name_fields("configuration", ("id", "label", "created", "changed", "previous")),
    "integrations.opcua.services.save_opcua_configuration",
)
