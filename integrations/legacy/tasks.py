"""The commit of a long import, off the request (the page polls its progress)."""

from celery import shared_task


@shared_task(acks_late=False, ignore_result=True)
def commit_import(job_id: int, user_id: int | None, skip_invalid: bool) -> None:
    from django.contrib.auth import get_user_model

    from mes.errors import DomainError

    from .models import ImportJob
    from .services import commit

    job = ImportJob.objects.get(pk=job_id)
    actor = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    try:
        commit(job, actor=actor, skip_invalid=skip_invalid)
    except Exception as exc:
        if not isinstance(exc, DomainError):  # a bug or the database: never stuck committing
            ImportJob.objects.filter(pk=job_id).update(
                status=ImportJob.Status.FAILED, errors=[{"row": 0, "reason": str(exc)[:300]}]
            )
            raise
        ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.COMMITTING).update(
            status=ImportJob.Status.FAILED
        )
        if exc.code != "bad_rows":
            ImportJob.objects.filter(pk=job_id).update(errors=[{"row": 0, "reason": exc.detail}])
