"""Celery tasks of the exceptions app."""

from celery import shared_task

from mes.tasks import Periodic

from . import services


@shared_task(acks_late=True, ignore_result=True)
def sweep_escalations() -> int:
    """Fire the escalation levels that are due (every ~30 s from beat). Returns levels fired."""
    return services.sweep_escalations()


PERIODIC_TASKS = {
    "escalation-sweep": Periodic(
        "exceptions.tasks.sweep_escalations", 30, "ESCALATION_SWEEP_SECONDS", inprocess=True
    ),
}
