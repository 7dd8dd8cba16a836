"""Celery tasks of quality: the sweep that escalates overdue non-conformance actions."""

from celery import shared_task

from mes.tasks import Periodic

from . import services


@shared_task(acks_late=True, ignore_result=True)
def escalate_overdue_actions() -> int:
    """Escalate the non-conformance actions past their due date (every ~5 min from beat)."""
    return services.escalate_overdue_actions()


PERIODIC_TASKS = {
    "nc-action-escalation": Periodic(
        "quality.tasks.escalate_overdue_actions", 300, "NC_ACTION_SWEEP_SECONDS", inprocess=True
    ),
}
