from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ErpConfig(AppConfig):
    name = "integrations.erp"
    label = "erp"
    verbose_name = _("ERP integration")

    def ready(self) -> None:
        from mes.notifications import kinds

        from . import outbound  # noqa: F401  (registers the `erp` outbox subscriber)

        kinds.register("erp_dead_letter", _("ERP delivery failed"))
