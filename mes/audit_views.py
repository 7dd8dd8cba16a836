"""The auditors' pages: search every history (export CSV/XLSX), one record's history with
what it looked like at a moment, and the chains' verification (start one, see the runs)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from mes.audit import export, history
from mes.audit.context import Channel
from mes.audit.query import at_moment, decode_cursor, encode_cursor, parse_query
from mes.errors import DomainError
from mes.models import AuditRun
from mes.pages import refused, render_page

PAGE = 100


def _auditor(request: HttpRequest) -> None:
    if not request.user.has_perm(history.AUDIT_PERM):
        raise PermissionDenied


@require_safe
@login_required
def audit_page(request: HttpRequest) -> HttpResponse:
    _auditor(request)
    entries, next_cursor, problem = [], None, None
    try:
        query = parse_query(request)
        if request.GET.get("format") in ("csv", "xlsx"):
            respond = (
                export.xlsx_response if request.GET["format"] == "xlsx" else export.csv_response
            )
            return respond(request.user, query)
        cursor = decode_cursor(request.GET["cursor"]) if request.GET.get("cursor") else None
        entries = history.search(request.user, query, before=cursor, limit=PAGE)
        next_cursor = encode_cursor(entries[-1]) if len(entries) == PAGE else None
    except DomainError as exc:
        if exc.status in (403, 404):
            refused(request, exc)
        problem = exc.detail
    params = request.GET.copy()
    params.pop("cursor", None)
    params.pop("file", None)
    return render_page(
        request,
        "mes/audit.html",
        {
            "entries": entries,
            "problem": problem,
            "kinds": list(history.kinds()),
            "channels": Channel.choices,
            "params": request.GET,
            "query_string": params.urlencode(),
            "next_cursor": next_cursor,
            "runs": AuditRun.objects.all()[:5],
        },
    )


@require_safe
@login_required
def record_page(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    _auditor(request)
    try:
        entries = history.record_history(kind, pk, request.user)
    except DomainError as exc:
        refused(request, exc)
        raise
    snapshot, at, problem = None, request.GET.get("at", ""), None
    if at:
        try:
            snapshot = history.as_of(kind, pk, at_moment(at, "at"), request.user) or {}
        except DomainError as exc:
            problem = exc.detail
    return render_page(
        request,
        "mes/audit_record.html",
        {
            "kind": kind,
            "pk": pk,
            "entries": entries,
            "at": at,
            "snapshot": snapshot,
            "problem": problem,
        },
    )


@require_POST
@login_required
def verify_now(request: HttpRequest) -> HttpResponse:
    _auditor(request)
    from mes.tasks import start_audit_verification

    try:
        start_audit_verification(request.user.username)
    except DomainError as exc:
        messages.error(request, exc.detail)
        return redirect("audit")
    messages.success(request, _("Verification started: its result appears below when done."))
    return redirect("audit")
