from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExceptionsConfig(AppConfig):
    name = "exceptions"
    label = "exceptions"
    verbose_name = _("Exceptions")

    def ready(self) -> None:
        # The rule engine listens to raises, user changes and status changes (not to
        # "exception.routed", which the rules themselves emit).
        from django.db.models.signals import post_migrate

        from mes.outbox import subscribers

        from .board import SUBSCRIBER as BOARD_SUBSCRIBER
        from .board import on_exception_event as hint_boards
        from .defaults import ensure_defaults
        from .rules import on_exception_event

        post_migrate.connect(ensure_defaults, sender=self, dispatch_uid="andon_exception_defaults")

        subscribers.add(
            "exceptions.rules",
            on_exception_event,
            ["exception.raised", "exception.updated", "exception.status_changed"],
        )
        # Live boards: every exception event hints the site's open boards to refresh.
        subscribers.add(BOARD_SUBSCRIBER, hint_boards, ["exception.*"])
