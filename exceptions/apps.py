from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExceptionsConfig(AppConfig):
    name = "exceptions"
    label = "exceptions"
    verbose_name = _("Exceptions")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from mes import config_cache
        from mes.services import on_downtime

        from . import models
        from .defaults import ensure_defaults
        from .machines import downtime_ticket

        on_downtime.register("exceptions.ticket", downtime_ticket)

        config_cache.watch(
            models.ExceptionType,
            models.Workflow,
            models.WorkflowState,
            models.WorkflowTransition,
            models.SlaPolicy,
            models.EscalationPolicy,
            models.EscalationLevel,
            models.RoutingRule,
        )

        post_migrate.connect(ensure_defaults, sender=self, dispatch_uid="andon_exception_defaults")
