"""The auditors' API: a search over every history, one record's complete history, a record
as it was at a moment, exports (CSV, XLSX, streamed), and the verification of the chains."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from mes.audit import export, history
from mes.audit.context import Channel
from mes.audit.query import at_moment, decode_cursor, encode_cursor, parse_query
from mes.errors import InvalidInput
from mes.models import AuditRun

MAX_LIMIT = 500

FILTERS = [
    OpenApiParameter("kind", str, description="kinds, comma separated (default: all)"),
    OpenApiParameter("user", str, description="who made the change (username)"),
    OpenApiParameter("from", str, description="ISO date or date-time (UTC unless given)"),
    OpenApiParameter("to", str, description="ISO date (inclusive) or date-time (exclusive)"),
    OpenApiParameter("site", str, description="site code"),
    OpenApiParameter("reason", str, description="text in the reason"),
    OpenApiParameter("channel", str, enum=Channel.values),
    OpenApiParameter("record", str, description="the record's id (with one kind)"),
]


def _limit(request) -> int:
    value = request.GET.get("limit", "100")
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise InvalidInput(
            _("limit: 1 to %(max)s.") % {"max": MAX_LIMIT},
            code="invalid_limit",
            fields={"limit": [_("1 to %(max)s.") % {"max": MAX_LIMIT}]},
        )
    return int(value)


class HistorySearchView(APIView):
    """Changes across every history, newest first: who, when, what (field old → new), why,
    the request and the channel. ``next`` is the cursor of the following page."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="history_search",
        parameters=[
            *FILTERS,
            OpenApiParameter("cursor", str),
            OpenApiParameter("limit", int, description=f"1..{MAX_LIMIT} (100)"),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        history.require_auditor(request.user)
        query = parse_query(request)
        limit = _limit(request)
        cursor = decode_cursor(request.GET["cursor"]) if request.GET.get("cursor") else None
        page = history.search(request.user, query, before=cursor, limit=limit)
        return Response(
            {
                "results": [e.as_dict() for e in page],
                "next": encode_cursor(page[-1]) if len(page) == limit else None,
            }
        )


class HistoryExportView(APIView):
    """The search's changes as a file, one line per changed field, streamed."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="history_export",
        parameters=[*FILTERS, OpenApiParameter("file", str, enum=["csv", "xlsx"])],
        responses={(200, "text/csv"): OpenApiTypes.BINARY},
    )
    def get(self, request):
        history.require_auditor(request.user)
        query = parse_query(request)
        kind = request.GET.get("file", "csv")  # ("format" is DRF's content negotiation)
        if kind not in ("csv", "xlsx"):
            raise InvalidInput(
                _("csv or xlsx."), code="invalid_file", fields={"file": ["csv", "xlsx"]}
            )
        if kind == "xlsx":
            return export.xlsx_response(request.user, query)
        return export.csv_response(request.user, query)


class RecordHistoryView(APIView):
    """One record's complete history, oldest first (an account's: with its site grants and
    tokens)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="history_record", responses={200: OpenApiTypes.OBJECT})
    def get(self, request, kind: str, pk: int):
        entries = history.record_history(kind, pk, request.user)
        return Response({"kind": kind, "record": pk, "entries": [e.as_dict() for e in entries]})


class RecordAsOfView(APIView):
    """What a record looked like at a moment (``at``: ISO date-time)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="history_as_of",
        parameters=[OpenApiParameter("at", str, required=True)],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, kind: str, pk: int):
        history.require_auditor(request.user)
        history.record_history(kind, pk, request.user)  # 404 unless the reader sees it
        at = at_moment(request.GET.get("at", "") or "-", "at")
        found = history.as_of(kind, pk, at, request.user)
        return Response(
            {"kind": kind, "record": pk, "at": at.isoformat(), "existed": found is not None}
            | (found or {})
        )


class AuditRunsView(APIView):
    """The latest verifications of the audit chains; POST starts one."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        history.require_auditor(request.user)
        return Response({"results": [run_dict(r) for r in AuditRun.objects.all()[:20]]})

    @extend_schema(request=None, responses={202: OpenApiTypes.OBJECT})
    def post(self, request):
        history.require_auditor(request.user)
        from mes.tasks import start_audit_verification

        start_audit_verification(request.user.username)
        return Response({"detail": _("Verification started.")}, status=202)


def run_dict(run: AuditRun) -> dict:
    return {
        "id": run.pk,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "intact": run.intact,
        "rows": run.rows,
        "tables": run.tables,
        "breaks": run.breaks,
        "warnings": run.warnings,
        "anchor": run.anchor,
        "started_by": run.started_by,
    }
