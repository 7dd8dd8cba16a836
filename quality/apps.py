from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QualityConfig(AppConfig):
    name = "quality"
    verbose_name = _("Quality")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from mes.services import on_new_lot

        from . import rules  # noqa: F401  (registers the rule actions)
        from .defaults import ensure_quality_defaults
        from .receipts import hold_under_item_hold, hold_without_certificate

        on_new_lot.register("quality.certificate", hold_without_certificate)
        on_new_lot.register("quality.item_hold", hold_under_item_hold)
        post_migrate.connect(
            ensure_quality_defaults, sender=self, dispatch_uid="andon_quality_defaults"
        )
