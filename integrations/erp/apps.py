from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ErpConfig(AppConfig):
    name = "integrations.erp"
    label = "erp"
    verbose_name = _("ERP integration")

    def ready(self) -> None:
        from mes.notifications import kinds

        # Importing registers the `erp` and `projection` outbox subscribers.
        from . import outbound, projection  # noqa: F401
        from .tryton import TrytonAdapter

        outbound.adapters.register(TrytonAdapter.name, TrytonAdapter())

        kinds.register("erp_dead_letter", _("ERP delivery failed"))
