"""Tryton's JSON: dates, datetimes and decimals as ``{"__class__": ...}`` objects (what its
REST and JSON-RPC interfaces send and expect)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal


def _encode(value):
    if isinstance(value, dt.datetime):
        fields = ("year", "month", "day", "hour", "minute", "second", "microsecond")
        return {"__class__": "datetime", **{k: getattr(value, k) for k in fields}}
    if isinstance(value, dt.date):
        return {"__class__": "date", "year": value.year, "month": value.month, "day": value.day}
    if isinstance(value, Decimal):
        return {"__class__": "Decimal", "decimal": str(value)}
    raise TypeError(f"cannot encode {type(value).__name__} for Tryton")


def _decode(obj: dict):
    kind = obj.get("__class__")
    if kind == "date":
        return dt.date(obj["year"], obj["month"], obj["day"])
    if kind == "datetime":
        return dt.datetime(
            obj["year"],
            obj["month"],
            obj["day"],
            obj.get("hour", 0),
            obj.get("minute", 0),
            obj.get("second", 0),
            obj.get("microsecond", 0),
            tzinfo=dt.UTC,  # Tryton keeps UTC
        )
    if kind == "Decimal":
        return Decimal(obj["decimal"])
    return obj


def dumps(value) -> str:
    return json.dumps(value, default=_encode)


def loads(text: str):
    return json.loads(text, object_hook=_decode)
