"""The body an ERP receives: an endpoint's JSON template for the event type, filled from the
event (or the event as it is), and the signature that proves it came from Andon."""

from __future__ import annotations

import hashlib
import hmac
import re
import time

from mes.models import OutboxEvent

from ..models import ErpEndpoint

_WHOLE = re.compile(r"^\{\{\s*([\w.]+)\s*\}\}$")
_INLINE = re.compile(r"\{\{\s*([\w.]+)\s*\}\}")


def event_context(event: OutboxEvent) -> dict:
    return {
        "event": {
            "id": str(event.event_id),
            "type": event.type,
            "occurred_at": event.occurred_at.isoformat(),
            "site": event.site.code if event.site_id else None,
            "aggregate_type": event.aggregate_type,
            "aggregate_id": event.aggregate_id,
            "reason": event.reason,
        },
        "payload": event.payload,
    }


def _lookup(context: dict, path: str):
    value = context
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def render(template, context: dict):
    """The ERP body for ``template``: every string ``"{{ path }}"`` becomes the value at
    ``path`` (``event.id``, ``payload.good_qty``, ...) with its JSON type; ``{{ path }}``
    inside a longer string is replaced by its text; dicts and lists are walked."""
    if isinstance(template, dict):
        return {key: render(value, context) for key, value in template.items()}
    if isinstance(template, list):
        return [render(value, context) for value in template]
    if isinstance(template, str):
        whole = _WHOLE.match(template)
        if whole:
            return _lookup(context, whole.group(1))
        return _INLINE.sub(lambda m: str(_lookup(context, m.group(1)) or ""), template)
    return template


def default_body(context: dict) -> dict:
    event = context["event"]
    return {
        "event_id": event["id"],
        "type": event["type"],
        "occurred_at": event["occurred_at"],
        "site": event["site"],
        "payload": context["payload"],
    }


def body_for(endpoint: ErpEndpoint, event: OutboxEvent) -> dict:
    context = event_context(event)
    template = (endpoint.mapping or {}).get(event.type)
    return render(template, context) if template is not None else default_body(context)


def signature(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """``t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``; the ERP recomputes it."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"
