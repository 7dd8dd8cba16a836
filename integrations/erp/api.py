"""``/api/v1/erp/``: what the ERP calls (``erp_integration`` role, token, Idempotency-Key)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.views import APIView

from mes.errors import InvalidInput
from mes.idempotency import HEADER, idempotent_response

from . import inbound


class CanIngest(BasePermission):
    """Only accounts that speak for the ERP (the ``erp_integration`` role) send batches."""

    message = _("Only the ERP integration account may send ERP batches.")

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.has_perm("erp.ingest_erp"))


class WorkOrderBatchIn(serializers.Serializer):
    orders = inbound.WorkOrderIn(many=True)


class BatchResultOut(serializers.Serializer):
    erp_number = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=inbound.STATUSES)
    id = serializers.IntegerField(required=False)
    erp_version = serializers.IntegerField(required=False, help_text="stale: the version kept")
    changed = serializers.ListField(child=serializers.CharField(), required=False)
    applied = serializers.BooleanField(required=False)
    order_change = serializers.CharField(required=False, help_text="the exception raised")
    code = serializers.CharField(required=False)
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


class WorkOrderBatchView(APIView):
    """Upsert up to 1,000 production orders with their routing and components.

    Answers 200 with one result per record, in order: ``created``, ``updated``, ``unchanged``,
    ``stale`` or ``rejected`` (with ``code``, ``detail`` and ``fields``); see
    :mod:`integrations.erp.inbound`. A bad record never blocks the others.
    """

    permission_classes = [IsAuthenticated, CanIngest]

    @extend_schema(
        request=WorkOrderBatchIn, responses=BatchOut, parameters=[IDEMPOTENCY], tags=["erp"]
    )
    def post(self, request):
        def produce():
            records = batch_records(request.data, "orders")
            results = inbound.ingest_work_orders(records, actor=request.user)
            return 200, {"results": results, "summary": inbound.summarize(results)}

        return idempotent_response(request, produce, required=True)
