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
        from mes import config_cache

        from .models import ErpEndpoint

        config_cache.watch(ErpEndpoint)  # the relay's routing of events to endpoints
