"""``/api/v1/erp/``: what the ERP calls (``erp_integration`` role, token, Idempotency-Key)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from mes.api.parsers import BatchJSONParser
from mes.errors import InvalidInput, NotFound
from mes.idempotency import HEADER, idempotent_response

from .. import feed, inbound, reconciliation


class CanIngest(BasePermission):
    """Only accounts that speak for the ERP (the ``erp_integration`` role) send batches."""

    message = _("Only the ERP integration account may send ERP batches.")

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.has_perm("erp.ingest_erp"))


class WorkOrderBatchIn(serializers.Serializer):
    orders = inbound.WorkOrderIn(many=True)


class ItemBatchIn(serializers.Serializer):
    items = inbound.ItemIn(many=True)


class WorkCenterBatchIn(serializers.Serializer):
    work_centers = inbound.WorkCenterIn(many=True)


class LotBatchIn(serializers.Serializer):
    lots = inbound.LotIn(many=True)


class BatchResultOut(serializers.Serializer):
    erp_number = serializers.CharField(required=False, allow_null=True, help_text="orders")
    code = serializers.CharField(required=False, help_text="items, work centers; or the error")
    number = serializers.CharField(required=False, allow_null=True, help_text="lots")
    status = serializers.ChoiceField(choices=inbound.STATUSES)
    id = serializers.IntegerField(required=False)
    erp_version = serializers.IntegerField(required=False, help_text="stale: the version kept")
    changed = serializers.ListField(child=serializers.CharField(), required=False)
    applied = serializers.BooleanField(required=False)
    order_change = serializers.CharField(required=False, help_text="the exception raised")
    detail = serializers.CharField(required=False)
    fields = serializers.DictField(required=False)


class BatchOut(serializers.Serializer):
    results = BatchResultOut(many=True)
    summary = serializers.DictField(child=serializers.IntegerField())


def batch_records(data, key: str) -> list:
    """The list under ``key``: 1 to MAX_BATCH records (each validated later, on its own)."""
    records = data.get(key) if isinstance(data, dict) else None
    if not isinstance(records, list) or not records:
        raise InvalidInput(
            _('The body must be {"%(key)s": [...]} with at least one record.') % {"key": key},
            code="invalid_batch",
            fields={key: [_("A non-empty list is required.")]},
        )
    if len(records) > inbound.MAX_BATCH:
        raise InvalidInput(
            _("At most %(n)s records per batch.") % {"n": inbound.MAX_BATCH},
            code="batch_too_large",
            fields={key: [_("Too many records.")]},
        )
    return records


IDEMPOTENCY = OpenApiParameter(
    HEADER, str, OpenApiParameter.HEADER, required=True, description="one key per batch"
)


class BatchView(APIView):
    """Upsert up to 1,000 records keyed by their ERP identifiers; answers 200 with one result
    per record, in order: ``created``, ``updated``, ``unchanged``, ``stale`` or ``rejected``
    (with ``code``, ``detail`` and ``fields``). A bad record never blocks the others. See
    :mod:`integrations.erp.inbound`."""

    permission_classes = [IsAuthenticated, CanIngest]
    parser_classes = [BatchJSONParser]  # a bad text rejects its record, not the batch
    open_to_service_accounts = True  # the ERP's own endpoints
    kind = ""

    def post(self, request):
        def produce():
            records = batch_records(request.data, self.kind)
            results = inbound.ingest(self.kind, records, actor=request.user)
            return 200, {"results": results, "summary": inbound.summarize(results)}

        return idempotent_response(request, produce, required=True)


def _documented(kind: str, request, summary: str):
    """A BatchView for ``kind`` with its own OpenAPI operation (its own ``post`` function:
    ``extend_schema`` annotates the function it is given)."""

    def post(self, request):
        return BatchView.post(self, request)

    post = extend_schema(
        request=request,
        responses=BatchOut,
        parameters=[IDEMPOTENCY],
        tags=["erp"],
        operation_id=f"erp_{kind}_batch",
        summary=summary,
    )(post)
    name = f"{kind.title().replace('_', '')}BatchView"
    return type(name, (BatchView,), {"kind": kind, "post": post, "__doc__": BatchView.__doc__})


WorkOrderBatchView = _documented(
    "orders", WorkOrderBatchIn, "Production orders with their routing and components."
)
ItemBatchView = _documented("items", ItemBatchIn, "Items (materials), shared by all sites.")
WorkCenterBatchView = _documented("work_centers", WorkCenterBatchIn, "Work centers of a site.")
LotBatchView = _documented(
    "lots", LotBatchIn, "Supplier lots received at a site (quantity set once, on receipt)."
)


# --- the pull feed --------------------------------------------------------------------------


class CanReadFeed(BasePermission):
    message = _("Only the ERP integration account may read the ERP event feed.")

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.has_perm("erp.read_erp_feed"))


class FeedQuery(serializers.Serializer):
    after = serializers.IntegerField(
        required=False, min_value=0, help_text="cursor; default: the last acknowledged one"
    )
    limit = serializers.IntegerField(required=False, min_value=1, max_value=feed.MAX_LIMIT)


class FeedEventOut(serializers.Serializer):
    cursor = serializers.IntegerField()
    event_id = serializers.UUIDField()
    type = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    site = serializers.CharField(allow_null=True)
    work_order = serializers.CharField(allow_null=True, help_text="its ERP number")
    acknowledged = serializers.BooleanField()
    body = serializers.JSONField(help_text="the endpoint's mapping for the type, or the event")


class FeedOut(serializers.Serializer):
    events = FeedEventOut(many=True)
    next_cursor = serializers.IntegerField(help_text="pass as `after` to read on")
    acknowledged_cursor = serializers.IntegerField()
    has_more = serializers.BooleanField()


class AckIn(serializers.Serializer):
    cursor = serializers.IntegerField(min_value=1)


class AckOut(serializers.Serializer):
    acknowledged = serializers.IntegerField(help_text="deliveries acknowledged by this call")
    acknowledged_cursor = serializers.IntegerField()


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class FeedView(APIView):
    """The pull alternative for ERPs that cannot receive calls: the events of the endpoint
    this account reads, in order, from a cursor. See :mod:`integrations.erp.feed`."""

    permission_classes = [IsAuthenticated, CanReadFeed]
    open_to_service_accounts = True

    @extend_schema(
        parameters=[FeedQuery], responses=FeedOut, tags=["erp"], operation_id="erp_events"
    )
    def get(self, request):
        query = _valid(FeedQuery, request.query_params)
        endpoint = feed.endpoint_for(request.user)
        page = feed.read(endpoint, after=query.get("after"), limit=query.get("limit", 100))
        return Response(FeedOut(page).data)


class FeedAckView(APIView):
    """The ERP applied every event up to ``cursor``: they count as delivered (time to ERP
    ends now). Acknowledging again changes nothing."""

    permission_classes = [IsAuthenticated, CanReadFeed]
    open_to_service_accounts = True

    @extend_schema(request=AckIn, responses=AckOut, tags=["erp"], operation_id="erp_events_ack")
    def post(self, request):
        def produce():
            data = _valid(AckIn, request.data if isinstance(request.data, dict) else {})
            endpoint = feed.endpoint_for(request.user)
            count, cursor = feed.acknowledge(endpoint, cursor=data["cursor"], actor=request.user)
            return 200, {"acknowledged": count, "acknowledged_cursor": cursor}

        return idempotent_response(request, produce)


# --- reconciliation -------------------------------------------------------------------------


class CanReconcile(BasePermission):
    message = _("Reconciliation is for those who may see ERP deliveries (managers).")

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.has_perm("erp.view_erpdelivery"))


class ReconciliationRowOut(serializers.Serializer):
    erp_number = serializers.CharField()
    site = serializers.CharField(source="site.code")
    item = serializers.CharField(source="item.code")
    status = serializers.CharField()
    planned_qty = serializers.DecimalField(max_digits=18, decimal_places=3)
    confirmations = serializers.IntegerField(help_text="recorded in Andon")
    good = serializers.DecimalField(max_digits=18, decimal_places=3)
    scrap = serializers.DecimalField(max_digits=18, decimal_places=3)
    acknowledged = serializers.IntegerField(help_text="confirmations the ERP acknowledged")
    acknowledged_good = serializers.DecimalField(max_digits=18, decimal_places=3)
    acknowledged_scrap = serializers.DecimalField(max_digits=18, decimal_places=3)
    pending = serializers.IntegerField()
    dead = serializers.IntegerField()
    completion_acknowledged = serializers.BooleanField()
    state = serializers.ChoiceField(choices=reconciliation.STATES)


class TimeToErpRowOut(serializers.Serializer):
    event_type = serializers.CharField()
    site = serializers.CharField(allow_null=True)
    acknowledged = serializers.IntegerField()
    p50_seconds = serializers.FloatField(allow_null=True)
    p95_seconds = serializers.FloatField(allow_null=True)
    max_seconds = serializers.FloatField(allow_null=True)
    pending = serializers.IntegerField()
    oldest_pending_seconds = serializers.FloatField(allow_null=True)


class TimeToErpOut(serializers.Serializer):
    results = TimeToErpRowOut(many=True)


FILTERS = [
    OpenApiParameter(
        "endpoint",
        int,
        description="ERP endpoint id (default: the first active one that takes confirmations)",
    ),
    OpenApiParameter("site", str, description="site code"),
]


class ReconciliationView(APIView):
    """Per work order with confirmations: what Andon confirmed against what the ERP
    acknowledged, newest first, paged (``limit``/``offset``), with counts per state. The rows
    are one endpoint's (``endpoint``, default the first active one taking confirmations);
    ``states`` counts those rows; without ``endpoint``, ``all_states`` sums every endpoint's
    counts, each one's in ``endpoints``."""

    permission_classes = [IsAuthenticated, CanReconcile]

    @extend_schema(
        parameters=[
            *FILTERS,
            OpenApiParameter("state", str, enum=list(reconciliation.STATES)),
            OpenApiParameter("search", str, description="part of the ERP number"),
            OpenApiParameter("limit", int),
            OpenApiParameter("offset", int),
        ],
        responses=ReconciliationRowOut(many=True),
        tags=["erp"],
        operation_id="erp_reconciliation",
    )
    def get(self, request):
        query = reconciliation.Query(request.user, request.query_params)
        if query.endpoint is None:
            raise NotFound(_("No active ERP endpoint takes confirmations."), code="no_endpoint")
        rows = reconciliation.work_orders(
            request.user, query.endpoint, site=query.site, search=query.search
        )
        counts = reconciliation.state_counts(rows)
        if query.state:
            rows = rows.filter(state=query.state)
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        answer = paginator.get_paginated_response(ReconciliationRowOut(page, many=True).data)
        answer.data["endpoint"] = {"id": query.endpoint.pk, "name": query.endpoint.name}
        answer.data["states"] = counts
        if not query.endpoint_given:
            # The rows are one endpoint's; the summary is every endpoint's.
            answer.data["endpoints"] = reconciliation.summaries(
                request.user, site=query.site, search=query.search
            )
            answer.data["all_states"] = {
                state: sum(e["states"][state] for e in answer.data["endpoints"])
                for state in reconciliation.STATES
            }
        return answer


class TimeToErpView(APIView):
    """The execution gap: per event type and site, p50 / p95 / max seconds from an event to
    the ERP's acknowledgement, and what is still pending (events since ``since``, default the
    last 7 days; all endpoints unless ``endpoint``)."""

    permission_classes = [IsAuthenticated, CanReconcile]

    @extend_schema(
        parameters=[
            *FILTERS,
            OpenApiParameter("since", str, description="ISO date or date-time"),
        ],
        responses=TimeToErpOut,
        tags=["erp"],
        operation_id="erp_time_to_erp",
    )
    def get(self, request):
        query = reconciliation.Query(request.user, request.query_params)
        rows = reconciliation.time_to_erp(
            request.user,
            since=query.since,
            endpoint=query.endpoint if query.endpoint_given else None,
            site=query.site,
        )
        return Response({"results": TimeToErpRowOut(rows, many=True).data})
