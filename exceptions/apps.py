from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExceptionsConfig(AppConfig):
    name = "exceptions"
    label = "exceptions"
    verbose_name = _("Exceptions")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from .defaults import ensure_defaults

        post_migrate.connect(ensure_defaults, sender=self, dispatch_uid="andon_exception_defaults")
