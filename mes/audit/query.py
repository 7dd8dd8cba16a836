"""The auditors' search as the page and the API take it: query parameters to a
:class:`~mes.audit.history.Search`, moments, and the opaque cursor of the next page."""

from __future__ import annotations

import base64
import binascii
import datetime as dt

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from mes.errors import InvalidInput, NotFound
from mes.models import Site

from . import history
from .context import Channel


def at_moment(value: str, name: str, *, end: bool = False) -> dt.datetime:
    try:
        moment = parse_datetime(value) if "T" in value or " " in value else None
        day = parse_date(value) if moment is None and len(value) == 10 else None
        if day is not None and end:
            day += dt.timedelta(days=1)
    except (ValueError, OverflowError):  # 2024-02-30, 9999-12-31 + a day
        moment = day = None
    if moment is None:
        if day is None:
            raise InvalidInput(
                _("Not a date or a date-time: %(value)s.") % {"value": value[:40]},
                code="invalid_date",
                fields={name: [_("Use YYYY-MM-DD or an ISO date-time.")]},
            )
        moment = dt.datetime.combine(day, dt.time())
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, dt.UTC)
    return moment


def parse_query(request) -> history.Search:
    """The search's filters from query parameters (pages and API alike)."""
    params = request.GET
    query = history.Search()
    known = history.kinds()
    for kind in filter(None, (k.strip() for k in params.get("kind", "").split(","))):
        if kind not in known:
            history.history_model(kind)  # the error, with its code
        if kind not in query.kinds:
            query.kinds.append(kind)
    query.username = params.get("user", "").strip()[:150]
    if params.get("from"):
        query.start = at_moment(params["from"], "from")
    if params.get("to"):
        query.end = at_moment(params["to"], "to", end=True)
    if query.start and query.end and query.end <= query.start:
        raise InvalidInput(
            _("The end comes before the start."),
            code="invalid_window",
            fields={"to": [_("After the start, please.")]},
        )
    if params.get("site"):
        site = Site.objects.visible_to(request.user).filter(code=params["site"]).first()
        if site is None:
            raise NotFound(_("No such site."))
        query.site = site.pk
    query.reason = params.get("reason", "").strip()[:100]
    query.channel = params.get("channel", "")
    if query.channel and query.channel not in Channel.values:
        raise InvalidInput(
            _("No such channel."), code="invalid_channel", fields={"channel": Channel.values}
        )
    query.record = params.get("record", "").strip()
    if query.record and (
        len(query.kinds) != 1 or not query.record.isdigit() or len(query.record) > 18
    ):
        raise InvalidInput(
            _("A record is named by one kind and its numeric id."),
            code="invalid_record",
            fields={"record": [_("Give one kind and a number.")]},
        )
    return query


def encode_cursor(entry) -> str:
    raw = f"{entry.when.isoformat()}|{entry.kind}|{entry.history_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(value: str) -> tuple:
    try:
        when, kind, hid = base64.urlsafe_b64decode(value.encode()).decode().split("|")
        moment = parse_datetime(when)
        if moment is None or kind not in history.kinds():
            raise ValueError(value)
        return moment, kind, int(hid)
    except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
        raise InvalidInput(_("Not a cursor this API gave."), code="invalid_cursor") from exc
