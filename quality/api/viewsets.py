"""Quality's API: holds and their decisions, non-conformances, inspection results, and the
genealogy of a lot (with its recall export)."""

from __future__ import annotations

import django_filters
from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from mes.api.lookups import get_or_404
from mes.api.viewsets import ScopedViewSet
from mes.models import Lot

from .. import services
from ..models import HeldLot, InspectionResult, NonConformance, QualityHold
from ..selectors import recall
from . import serializers as s
from .export import recall_response


class HoldFilter(django_filters.FilterSet):
    site = django_filters.CharFilter(field_name="site__code")
    status = django_filters.CharFilter()
    lot = django_filters.CharFilter(field_name="lots__lot__number", distinct=True)

    class Meta:
        model = QualityHold
        fields = ["site", "status", "lot"]


def _number(value: str, prefix: str) -> str:
    value = str(value).strip()
    return value[len(prefix) :] if value.upper().startswith(prefix) else value


class QualityHoldViewSet(ScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """Holds (``QH-12`` or ``12``): place, review, decide. Releasing and dispositioning need
    the quality role (403), a reason (400 ``reason_required``), and under a site's two-person
    rule someone else than the placer (403 ``two_person_rule``)."""

    queryset = QualityHold.objects.select_related(
        "site", "lot", "work_order", "item", "nonconformance", "ticket", "placed_by"
    ).prefetch_related(
        Prefetch("lots", queryset=HeldLot.objects.select_related("lot__item")),
        "decisions__lot",
        "decisions__reason_code",
        "decisions__decided_by",
    )
    serializer_class = s.QualityHoldSerializer
    filterset_class = HoldFilter
    action_permissions = {
        "review": ["quality.change_qualityhold"],
        "decide": ["quality.release_qualityhold"],
    }

    def get_object(self):
        self.kwargs["pk"] = _number(self.kwargs["pk"], "QH-")
        return super().get_object()

    @extend_schema(request=s.PlaceHoldSerializer, responses={201: s.QualityHoldSerializer})
    def create(self, request):
        """Place a hold on a lot (optionally part of it), an order, an operation, all lots
        of an item at a site, or a lot and everything made from it."""
        body = s.PlaceHoldSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        hold = services.place_hold(actor=request.user, **body.validated_data)
        return self.read(hold, status.HTTP_201_CREATED)

    @extend_schema(request=s.HoldReasonSerializer, responses=s.QualityHoldSerializer)
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        """Active -> under review."""
        hold = self.get_object()
        body = s.HoldReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.review_hold(
            hold,
            actor=request.user,
            reason=body.validated_data["reason"],
            expected_version=self.expected_version(),
        )
        return self.read(hold)

    @extend_schema(request=s.DecideSerializer, responses={201: s.QualityHoldSerializer})
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        """Release or disposition held quantity of one lot (or, release with no lot: all)."""
        hold = self.get_object()
        body = s.DecideSerializer(
            data=request.data, context={**self.get_serializer_context(), "hold": hold}
        )
        body.is_valid(raise_exception=True)
        services.decide(
            hold,
            actor=request.user,
            expected_version=self.expected_version(),
            **body.validated_data,
        )
        return self.read(hold, status.HTTP_201_CREATED)


class NonConformanceViewSet(ScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    queryset = NonConformance.objects.select_related(
        "site", "item", "work_order", "ticket"
    ).prefetch_related("lots", "actions__owner")
    serializer_class = s.NonConformanceSerializer
    filterset_fields = ["status"]

    def get_object(self):
        self.kwargs["pk"] = _number(self.kwargs["pk"], "NC-")
        return super().get_object()


class InspectionResultViewSet(ScopedViewSet, mixins.ListModelMixin):
    queryset = InspectionResult.objects.select_related(
        "characteristic", "operation__work_order", "lot", "defect_code", "nonconformance"
    )
    serializer_class = s.InspectionResultSerializer
    filterset_fields = ["characteristic", "operation", "passed"]

    @extend_schema(
        request=s.RecordResultsSerializer, responses={201: s.InspectionResultSerializer(many=True)}
    )
    def create(self, request):
        """Record an inspection at an operation; out of spec opens a non-conformance, raises an
        ``out_of_spec`` exception, and the rules hold the lot."""
        body = s.RecordResultsSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        rows = services.record_results(actor=request.user, **body.validated_data)
        data = s.InspectionResultSerializer(
            self.get_queryset().filter(pk__in=[r.pk for r in rows]).order_by("pk"), many=True
        ).data
        return Response(data, status=status.HTTP_201_CREATED)


DIRECTION = OpenApiParameter("direction", str, enum=["forward", "backward"])
SITE = OpenApiParameter("site", str, description="Site code, when two sites share a lot number.")


class GenealogyViewSet(ScopedViewSet):
    """``/genealogy/<lot>/``: where a lot went (forward: the lots made from it, the orders
    and the customers' shipments) or what went into it (backward); ``export/`` as CSV or
    XLSX (``?as=xlsx``)."""

    queryset = Lot.objects.select_related("site", "item")
    serializer_class = None
    lookup_field = "number"

    def _recall(self, request, number):
        lot = get_or_404(self.get_queryset(), number, site=request.query_params.get("site"))
        direction = request.query_params.get("direction", "forward")
        if direction not in ("forward", "backward"):
            direction = "forward"
        return recall(lot, request.user, direction=direction), direction

    @extend_schema(parameters=[DIRECTION, SITE], responses={200: dict})
    def retrieve(self, request, number=None):
        found, direction = self._recall(request, number)
        return Response(
            {
                "lot": found.lot.number,
                "site": found.lot.site.code,
                "direction": direction,
                "lots": [
                    {
                        "lot": lot.number,
                        "item": lot.item.code,
                        "kind": lot.item.kind,
                        "depth": found.depth[lot.pk],
                        "work_order": lot.made_by or None,
                        "quantity": str(lot.quantity),
                        "status": lot.status,
                    }
                    for lot in found.lots
                ],
                "finished_lots": [lot.number for lot in found.finished_lots],
                "work_orders": found.work_orders,
                "shipments": [
                    {
                        "shipment": line.shipment.number,
                        "customer": line.shipment.customer,
                        "shipped_at": line.shipment.shipped_at,
                        "lot": line.lot.number,
                        "quantity": str(line.quantity),
                    }
                    for line in found.shipments
                ],
                "edges": sorted([parent, child] for parent, child in found.edges),
            }
        )

    @extend_schema(parameters=[DIRECTION, SITE], responses={200: bytes})
    @action(detail=True, methods=["get"])
    def export(self, request, number=None):
        found, _direction = self._recall(request, number)
        return recall_response(found, request.query_params.get("as", "csv"))
