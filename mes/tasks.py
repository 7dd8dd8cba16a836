"""Celery tasks of the production core: the outbox relay and its sweep."""

from dataclasses import dataclass

from celery import shared_task
from django.conf import settings

from mes import outbox
from mes.outbox import relay_outbox, relay_outbox_event

__all__ = [
    "Periodic",
    "purge_idempotency_records",
    "relay_outbox",
    "relay_outbox_event",
    "sweep_outbox",
    "verify_audit_chains",
]


@dataclass(frozen=True)
class Periodic:
    """A task an app runs on a schedule (``PERIODIC_TASKS`` in its ``tasks`` module): every
    ``seconds`` (or the environment variable ``env``). ``inprocess``: the embedded demo runs it
    in a thread of its server, having no beat."""

    task: str
    seconds: float
    env: str = ""
    inprocess: bool = False


@shared_task(acks_late=True, ignore_result=True)
def sweep_outbox(limit: int = 500) -> int:
    """Relay events left behind (broker down, worker crash, failing subscriber), in batches,
    ``limit`` at most. Returns how many it relayed."""
    total, after = 0, 0
    while total < limit:
        taken = outbox.relay_batch(
            min(outbox.RELAY_BATCH, limit - total),
            older_than=settings.ANDON_OUTBOX_SWEEP_AFTER,
            after=after,  # what failed again waits for the next sweep
        )
        if not taken:
            break
        total, after = total + len(taken), max(taken)
    return total


@shared_task(acks_late=True, ignore_result=True)
def purge_idempotency_records() -> int:
    """Forget idempotency records older than the clients' retry window (24 h)."""
    from mes.idempotency import purge_idempotency_records as purge

    return purge()


@shared_task(acks_late=True, ignore_result=True)
def expire_accounts() -> dict:
    """Deactivate expired accounts; tell sponsors before (mes.services.accounts)."""
    from mes.services.accounts import expire_accounts as run

    return run()


@shared_task(acks_late=False, ignore_result=True)
def verify_audit_chains(started_by: str = "nightly", run_id: int | None = None) -> bool:
    """Verify the audit chains and checkpoint the intact tables (mes.audit.verify)."""
    from mes.audit.verify import verify
    from mes.models import AuditRun

    run = AuditRun.objects.filter(pk=run_id).first() if run_id else None
    return verify(started_by=started_by, run=run).intact


def start_audit_verification(started_by: str) -> None:
    """An auditor's "verify now" (page, API): refused while one runs (409
    ``verification_running``). The run is recorded before the task is sent, so a second
    request right after sees it."""
    from django.utils.translation import gettext as _

    from mes.audit.verify import running
    from mes.errors import DomainError
    from mes.models import AuditRun

    if running() is not None:
        raise DomainError(_("A verification is running; wait for it."), code="verification_running")
    run = AuditRun.objects.create(started_by=started_by[:150])
    verify_audit_chains.delay(started_by, run.pk)


PERIODIC_TASKS = {
    "audit-verify": Periodic("mes.tasks.verify_audit_chains", 86400, "AUDIT_VERIFY_SECONDS"),
    "account-expiry": Periodic("mes.tasks.expire_accounts", 3600, inprocess=True),
    "outbox-sweep": Periodic("mes.tasks.sweep_outbox", 30, "OUTBOX_SWEEP_SECONDS", inprocess=True),
    "idempotency-purge": Periodic("mes.tasks.purge_idempotency_records", 3600),
}
