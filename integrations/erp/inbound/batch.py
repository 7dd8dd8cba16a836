"""One batch: the answer per record, each applied in a savepoint of its own."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from rest_framework import serializers

from mes.errors import DomainError, error_body

MAX_BATCH = 1000

CREATED, UPDATED, UNCHANGED, STALE, REJECTED = (
    "created",
    "updated",
    "unchanged",
    "stale",
    "rejected",
)
STATUSES = (CREATED, UPDATED, UNCHANGED, STALE, REJECTED)
CANCELLED = "cancelled"


def summarize(results: list[dict]) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for result in results:
        counts[result["status"]] += 1
    return counts


def one(spec: BatchKind, record, actor, lookups, data: dict | None = None) -> dict:
    """One record applied in a savepoint of its own (``data``: already validated)."""
    key = record.get(spec.key) if isinstance(record, dict) else None
    key = key if isinstance(key, str) else None
    if data is None:
        try:
            data = spec.validate(record)
        except serializers.ValidationError as exc:
            return rejected(spec.key, key, exc)
    try:
        with transaction.atomic():
            return {spec.key: data[spec.key], **spec.apply(data, actor, lookups)}
    except DomainError as exc:
        return rejected(spec.key, key, exc)
    except IntegrityError:  # the same new record written by a concurrent batch: retry later
        return rejected(
            spec.key,
            key,
            DomainError(_("The record changed while it was applied."), code="conflict"),
        )


def rejected(key_name: str, key, exc) -> dict:
    return {key_name: key, "status": REJECTED, **error_body(exc)}


_validators = threading.local()


@dataclass(frozen=True)
class BatchKind:
    """One kind of record the ERP sends in batches: its key, shape, lookups and upsert."""

    key: str
    serializer: type[serializers.Serializer]
    lookups: Callable[[list], Any]
    apply: Callable[[dict, Any, Any], dict]

    def validate(self, record) -> dict:
        """The record's validated data, or ``ValidationError`` with field errors. One
        serializer instance per kind and thread: DRF builds (deep-copies) a serializer's
        fields per instance, which cost more than the validation itself."""
        validator = getattr(_validators, self.key + self.serializer.__name__, None)
        if validator is None:
            validator = self.serializer()
            setattr(_validators, self.key + self.serializer.__name__, validator)
        return validator.run_validation(record)
