"""Exactly-once POSTs: a request retried with the same ``Idempotency-Key`` gets the first answer.

A flaky phone or an ERP that retries on timeout must not create two records. The first request
with a key runs and stores its answer (status and JSON body) in an :class:`IdempotencyRecord`,
inside the same transaction as the change, so the record exists exactly when the change
committed. A retry by the same user with the same key and the same request (method, path,
body) is answered from the record and changes nothing; the same key with another request is
refused with 422 ``idempotency_key_reused``.

Two identical requests at once: both insert the record first; the unique constraint on
``(user, key)`` makes the second wait for the first transaction and then fail, so it rolls back
and replays the stored answer. Refused requests (an exception out of ``produce``) store nothing:
a retry runs again.

Usage in a viewset::

    def create(self, request):
        return idempotent_response(request, lambda: (201, self._create(request)))

Clean-up: records only need to outlive the clients' retry window; Celery beat runs
``mes.tasks.purge_idempotency_records`` hourly to delete those older than ``KEEP_FOR``.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mes.errors import DomainError, InvalidInput
from mes.models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
KEEP_FOR = datetime.timedelta(hours=24)


class IdempotencyKeyReused(DomainError):
    status = 422
    code = "idempotency_key_reused"


@dataclass(frozen=True)
class Outcome:
    status: int
    body: Any
    replayed: bool


def _canonical(data) -> Any:
    """A JSON-able, order-independent picture of a request body (JSON, form or multipart)."""
    if hasattr(data, "lists"):  # QueryDict / MultiValueDict
        return {key: [_canonical(v) for v in values] for key, values in data.lists()}
    if hasattr(data, "read") and hasattr(data, "size"):  # an uploaded file
        return {"file": getattr(data, "name", ""), "size": data.size}
    if isinstance(data, dict):
        return {str(k): _canonical(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_canonical(v) for v in data]
    return data


def _body(data):
    """A parsed JSON body is its own picture (the encoder sorts its keys): walking a batch of
    1,000 records in Python cost more than hashing it."""
    return data if type(data) in (dict, list) else _canonical(data)


def request_fingerprint(method: str, path: str, data) -> str:
    text = json.dumps(
        {"method": method.upper(), "path": path, "body": _body(data)},
        sort_keys=True,
        separators=(",", ":"),
        cls=DjangoJSONEncoder,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _replay(record: IdempotencyRecord, request_hash: str) -> Outcome:
    if record.request_hash != request_hash:
        raise IdempotencyKeyReused(
            _("This Idempotency-Key was already used for a different request.")
        )
    return Outcome(record.status, json.loads(record.response_body), replayed=True)


def _stored(user, key: str) -> IdempotencyRecord | None:
    return IdempotencyRecord.objects.filter(user=user, key=key).first()


def run_once(
    *,
    user,
    key: str,
    method: str,
    path: str,
    data,
    produce: Callable[[], tuple[int, Any]],
) -> Outcome:
    """Run ``produce`` once per ``(user, key)``; later calls get its ``(status, body)`` again.

    ``produce`` must make its changes in the caller's database (it runs inside the transaction
    that also writes the record) and return a JSON-able body.
    """
    key = (key or "").strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(
            _("The Idempotency-Key must be 1 to %(n)s characters.") % {"n": MAX_KEY_LENGTH},
            code="invalid_idempotency_key",
        )
    request_hash = request_fingerprint(method, path, data)
    record = _stored(user, key)
    if record is not None:
        return _replay(record, request_hash)
    try:
        with transaction.atomic():
            # Inserted first: a concurrent twin blocks on the unique index until this commits.
            record = IdempotencyRecord.objects.create(
                user=user,
                key=key,
                method=method.upper()[:10],
                path=path[:500],
                request_hash=request_hash,
                status=0,
                response_body="null",
            )
            status, body = produce()
            text = json.dumps(body, cls=DjangoJSONEncoder)
            record.status, record.response_body = status, text
            record.save(update_fields=["status", "response_body"])
    except IntegrityError:
        record = _stored(user, key)
        if record is None:  # the IntegrityError came from ``produce`` itself
            raise
        return _replay(record, request_hash)
    return Outcome(status, json.loads(text), replayed=False)


def idempotent_response(request, produce: Callable[[], tuple[int, Any]], *, required=False):
    """For DRF views: honour the request's ``Idempotency-Key`` header around ``produce``
    (``required``: refuse a request without one). A replayed answer carries
    ``Idempotent-Replayed: true``."""
    from rest_framework.response import Response

    key = request.headers.get(HEADER)
    if key is None and required:
        raise InvalidInput(
            _("This endpoint needs an Idempotency-Key header."),
            code="idempotency_key_required",
        )
    if key is None:
        status, body = produce()
        return Response(body, status=status)
    outcome = run_once(
        user=request.user,
        key=key,
        method=request.method,
        path=request.get_full_path(),
        data=request.data,
        produce=produce,
    )
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    return Response(outcome.body, status=outcome.status, headers=headers)


def purge_idempotency_records(older_than: datetime.timedelta = KEEP_FOR) -> int:
    """Delete records older than ``older_than``; returns how many went."""
    deleted, _by_model = IdempotencyRecord.objects.filter(
        created_at__lt=timezone.now() - older_than
    ).delete()
    return deleted
