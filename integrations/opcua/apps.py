from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpcuaConfig(AppConfig):
    name = "integrations.opcua"
    label = "opcua"
    verbose_name = _("Machines over OPC UA")
