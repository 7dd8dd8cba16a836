from django.apps import AppConfig


class AndonConfig(AppConfig):
    """The project package as an app: it wires the others together (last in INSTALLED_APPS)."""

    name = "andon"
    verbose_name = "Andon"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
        from .celery import app
        from .discovery import register_contributions
        from .periodic import beat_schedule

        register_contributions()
        app.conf.beat_schedule = beat_schedule()
