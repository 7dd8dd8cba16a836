from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ErpConfig(AppConfig):
    name = "integrations.erp"
    label = "erp"
    verbose_name = _("ERP integration")

    def ready(self) -> None:
        from . import outbound
        from .tryton import TrytonAdapter

        outbound.adapters.register(TrytonAdapter.name, TrytonAdapter())
