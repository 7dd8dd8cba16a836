"""The commit of a long import, off the request (the page polls its progress)."""

from celery import shared_task


@shared_task(acks_late=False, ignore_result=True)
def commit_import(job_id: int, user_id: int | None, skip_invalid: bool) -> None:
    from django.contrib.auth import get_user_model

    from mes.errors import DomainError

    from .models import ImportJob
    from .services import commit, mark_failed

    job = ImportJob.objects.get(pk=job_id)
    actor = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    try:
        commit(job, actor=actor, skip_invalid=skip_invalid)
    except DomainError as exc:  # bad rows (listed on the job by the commit), a twin...
        mark_failed(job_id, None if exc.code == "bad_rows" else exc.detail)
    except Exception as exc:  # a bug or the database: never left "committing"
        mark_failed(job_id, str(exc))
        raise
