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
    quick: Callable[[serializers.Serializer], Callable[[dict], dict | None]] | None = None

    def validate(self, record) -> dict:
        """The record's validated data, or ``ValidationError`` with field errors. One
        serializer instance per kind and thread: DRF builds (deep-copies) a serializer's
        fields per instance, which cost more than the validation itself. ``quick``: a
        validator bound to it that answers records of the usual shape alike, faster, and
        None for the others (:mod:`.quick`)."""
        name = self.key + self.serializer.__name__
        found = getattr(_validators, name, None)
        if found is None:
            validator = self.serializer()
            found = (validator, self.quick(validator) if self.quick else None)
            setattr(_validators, name, found)
        validator, quick = found
        data = quick(record) if quick is not None else None
        return data if data is not None else validator.run_validation(record)
