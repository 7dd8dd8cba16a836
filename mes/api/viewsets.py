"""Viewsets: scope every queryset with ``visible_to``; writes go through serializers to services."""

import re

import django_filters
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from mes import services
from mes.choices import OperationStatus, WorkOrderStatus
from mes.errors import InvalidInput
from mes.models import (
    Confirmation,
    Item,
    Lot,
    Machine,
    Operation,
    Site,
    WorkCenter,
    WorkOrder,
)

from . import serializers as s
from .lookups import get_or_404, resolve

SITE_PARAM = OpenApiParameter(
    "site", str, description="Site code, when the same code exists at two sites."
)


_ETAG = re.compile(r'^"(\d{1,10})"$|^(\d{1,10})$')


def etag(version: int) -> str:
    return f'"{version}"'


class ScopedViewSet(viewsets.GenericViewSet):
    """Base of every API viewset: the user's sites only (``visible_to``), records addressed
    by natural key, and for a model with a ``version`` field (a versioned resource) an
    ``ETag: "<version>"`` on every answer about one record and ``If-Match`` on writes
    (:meth:`expected_version`; a stale one is the service's 412)."""

    lookup_value_regex = ".+"  # ERP numbers contain slashes (ZP/2026/07/0001)
    read_serializer_class = None
    version_field = "version"

    def get_queryset(self):
        return super().get_queryset().visible_to(self.request.user)

    def get_object(self):
        value = self.kwargs[self.lookup_url_kwarg or self.lookup_field]
        obj = get_or_404(self.get_queryset(), value, site=self.request.query_params.get("site"))
        self.check_object_permissions(self.request, obj)
        return obj

    @property
    def versioned(self) -> bool:
        model = getattr(self.queryset, "model", None)
        return model is not None and any(f.name == self.version_field for f in model._meta.fields)

    def expected_version(self) -> int | None:
        """The version the client's ``If-Match`` names; None when absent or ``*``."""
        raw = self.request.headers.get("If-Match")
        if raw is None or raw.strip() == "*" or not self.versioned:
            return None
        match = _ETAG.match(raw.strip())
        if not match:
            raise InvalidInput(
                _('If-Match must be one ETag of this API, like "3".'),
                code="invalid_if_match",
                fields={"If-Match": [_("Malformed.")]},
            )
        return int(match.group(1) or match.group(2))

    def finalize_response(self, request, response, *args, **kwargs):
        """Every successful answer about one versioned record carries its ETag."""
        data = getattr(response, "data", None)
        if (
            self.detail
            and self.versioned
            and 200 <= response.status_code < 300
            and isinstance(data, dict)
            and self.version_field in data
            and not response.has_header("ETag")
        ):
            response["ETag"] = etag(data[self.version_field])
        return super().finalize_response(request, response, *args, **kwargs)

    def read(self, obj, status_code=status.HTTP_200_OK, *, known=None) -> Response:
        """Answer with the fresh read shape of ``obj``; with ``known`` ({related name: rows},
        all of them) from ``obj`` as the service left it, without reading it again."""
        if known is None:
            obj = self.get_queryset().get(pk=obj.pk)
        else:
            for name, rows in known.items():
                set_prefetched(obj, name, rows)
        serializer = (self.read_serializer_class or self.serializer_class)(
            obj, context=self.get_serializer_context()
        )
        return Response(serializer.data, status=status_code)


def set_prefetched(obj, name: str, rows) -> None:
    """Make ``obj.<name>.all()`` answer ``rows``, as a prefetch would, without a query."""
    known = getattr(obj, name).all()
    known._result_cache, known._prefetch_done = list(rows), True
    obj.__dict__.setdefault("_prefetched_objects_cache", {})[name] = known


class SiteCodeFilter(django_filters.FilterSet):
    site = django_filters.CharFilter(field_name="site__code")


class SiteViewSet(ScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    queryset = Site.objects.all()
    serializer_class = s.SiteSerializer
    lookup_field = "code"


class WorkCenterViewSet(ScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    queryset = WorkCenter.objects.select_related("site")
    serializer_class = s.WorkCenterSerializer
    lookup_field = "code"
    filterset_class = SiteCodeFilter
    action_permissions = {
        "resequence": ["mes.resequence_workcenter"],
        "queue": ["mes.view_operation"],
    }

    @extend_schema(parameters=[SITE_PARAM], responses=s.OperationSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)  # a list, not a page
    def queue(self, request, code=None):
        """Queued operations of the work center, in dispatch order."""
        wc = self.get_object()
        ops = (
            Operation.objects.visible_to(request.user)
            .filter(work_center=wc, dispatch_rank__isnull=False)
            .select_related("work_order__site", "work_center", "machine")
            .order_by("dispatch_rank")
        )
        return Response(s.OperationSerializer(ops, many=True).data)

    @extend_schema(
        parameters=[SITE_PARAM],
        request=s.ResequenceSerializer,
        responses=s.OperationSerializer(many=True),
    )
    @action(detail=True, methods=["post"])
    def resequence(self, request, code=None):
        """Set the dispatch order: ``operations`` lists every queued operation id once."""
        wc = self.get_object()
        body = s.ResequenceSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.resequence_work_center(
            wc,
            actor=request.user,
            operation_ids=body.validated_data["operations"],
            reason=body.validated_data["reason"],
        )
        return self.queue(request, code=code)


class MachineViewSet(ScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    queryset = Machine.objects.select_related("site", "work_center")
    serializer_class = s.MachineSerializer
    lookup_field = "code"
    filterset_class = SiteCodeFilter


class ItemFilter(django_filters.FilterSet):
    kind = django_filters.CharFilter()

    class Meta:
        model = Item
        fields = ["kind"]


class ItemViewSet(ScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    queryset = Item.objects.all()
    serializer_class = s.ItemSerializer
    lookup_field = "code"
    filterset_class = ItemFilter


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


class WorkOrderFilter(django_filters.FilterSet):
    site = django_filters.CharFilter(field_name="site__code")
    status = django_filters.CharFilter(
        method="filter_status", help_text="One status or several, comma-separated."
    )
    item = django_filters.CharFilter(field_name="item__code")
    erp_number = django_filters.CharFilter()
    due_after = django_filters.DateFilter(field_name="due_date", lookup_expr="gte")
    due_before = django_filters.DateFilter(field_name="due_date", lookup_expr="lte")
    behind = django_filters.BooleanFilter(
        method="filter_behind", help_text="Open and past due or past planned end."
    )

    class Meta:
        model = WorkOrder
        fields = ["site", "status", "item", "erp_number", "due_after", "due_before", "behind"]

    def filter_status(self, queryset, name, value):
        wanted = _split(value)
        unknown = set(wanted) - set(WorkOrderStatus.values)
        if unknown:
            from mes.errors import InvalidInput

            raise InvalidInput(
                f"Unknown status: {', '.join(sorted(unknown))}.",
                code="invalid_filter",
                fields={"status": [f"Choose from {', '.join(WorkOrderStatus.values)}."]},
            )
        return queryset.filter(status__in=wanted)

    def filter_behind(self, queryset, name, value):
        behind = WorkOrder.objects.behind().values("pk")
        return queryset.filter(pk__in=behind) if value else queryset.exclude(pk__in=behind)


class WorkOrderViewSet(ScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    queryset = WorkOrder.objects.select_related("site", "item").prefetch_related(
        Prefetch("operations", queryset=Operation.objects.select_related("work_center", "machine"))
    )
    serializer_class = s.WorkOrderSerializer
    lookup_field = "erp_number"
    filterset_class = WorkOrderFilter
    # The ERP's account may send one order here and read orders back; nothing else.
    open_to_service_accounts = ("create", "list", "retrieve")
    _transition = ["mes.change_workorder"]
    action_permissions = {
        "release": _transition,
        "start": _transition,
        "hold": _transition,
        "resume": _transition,
        "complete": _transition,
        "close": _transition,
        "cancel": _transition,
    }

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}

    def get_serializer_class(self):
        if self.action == "create":
            return s.WorkOrderCreateSerializer
        if self.action in self.action_permissions:
            return s.ReasonSerializer
        return s.WorkOrderSerializer

    @extend_schema(request=s.WorkOrderCreateSerializer, responses={201: s.WorkOrderSerializer})
    def create(self, request):
        """Create a planned work order with its operations."""
        body = s.WorkOrderCreateSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        return self.read(body.save(), status.HTTP_201_CREATED)

    def _transition_action(self, request, service):
        wo = self.get_object()
        body = s.ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self.read(service(wo, actor=request.user, reason=body.validated_data["reason"]))

    _doc = {
        "parameters": [SITE_PARAM],
        "request": s.ReasonSerializer,
        "responses": s.WorkOrderSerializer,
    }

    @extend_schema(**_doc)
    @action(detail=True, methods=["post"])
    def release(self, request, erp_number=None):
        """Planned -> released: operations join their work centers' queues."""
        return self._transition_action(request, services.release_work_order)

    @extend_schema(**_doc)
    @action(detail=True, methods=["post"])
    def start(self, request, erp_number=None):
        return self._transition_action(request, services.start_work_order)

    @extend_schema(**_doc)
    @action(detail=True, methods=["post"])
    def hold(self, request, erp_number=None):
        """Put on hold; ``reason`` is required."""
        return self._transition_action(request, services.hold_work_order)

    @extend_schema(**_doc)
    @action(detail=True, methods=["post"])
    def resume(self, request, erp_number=None):
        """Return from hold to the state before it."""
        return self._transition_action(request, services.resume_work_order)

    @extend_schema(**_doc)
    @action(detail=True, methods=["post"])
    def complete(self, request, erp_number=None):
        return self._transition_action(request, services.complete_work_order)

    @extend_schema(**_doc)
    @action(detail=True, methods=["post"])
    def close(self, request, erp_number=None):
        return self._transition_action(request, services.close_work_order)

    @extend_schema(**_doc)
    @action(detail=True, methods=["post"])
    def cancel(self, request, erp_number=None):
        """Cancel; ``reason`` is required."""
        return self._transition_action(request, services.cancel_work_order)


class OperationFilter(django_filters.FilterSet):
    site = django_filters.CharFilter(field_name="work_order__site__code")
    work_order = django_filters.CharFilter(field_name="work_order__erp_number")
    work_center = django_filters.CharFilter(field_name="work_center__code")
    status = django_filters.ChoiceFilter(choices=OperationStatus.choices)

    class Meta:
        model = Operation
        fields = ["site", "work_order", "work_center", "status"]


class OperationViewSet(ScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    queryset = Operation.objects.select_related("work_order__site", "work_center", "machine")
    serializer_class = s.OperationSerializer
    filterset_class = OperationFilter
    action_permissions = {"start": ["mes.change_operation"]}

    @extend_schema(request=s.StartOperationSerializer, responses=s.OperationSerializer)
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        """Start the operation (and its work order, with the first one)."""
        op = self.get_object()
        body = s.StartOperationSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        machine = None
        if body.validated_data["machine"]:
            machine = resolve(
                Machine.objects.visible_to(request.user).filter(site_id=op.work_order.site_id),
                body.validated_data["machine"],
                field="machine",
            )
        services.start_operation(
            op, actor=request.user, machine=machine, reason=body.validated_data["reason"]
        )
        return self.read(op)

    @extend_schema(responses=s.MachineCountsSerializer)
    @action(detail=True, methods=["get"], url_path="machine-counts")
    def machine_counts(self, request, pk=None):
        """What the operation's machine counted since it started or was last confirmed: the
        quantities to offer whoever confirms it."""
        return Response(s.MachineCountsSerializer(services.machine_counts(self.get_object())).data)


class LotFilter(django_filters.FilterSet):
    site = django_filters.CharFilter(field_name="site__code")
    item = django_filters.CharFilter(field_name="item__code")
    status = django_filters.CharFilter()

    class Meta:
        model = Lot
        fields = ["site", "item", "status"]


class LotViewSet(ScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    queryset = Lot.objects.select_related("site", "item", "work_order")
    serializer_class = s.LotSerializer
    lookup_field = "number"
    filterset_class = LotFilter

    @extend_schema(request=s.LotReceiveSerializer, responses={201: s.LotSerializer})
    def create(self, request):
        """Receive a supplier lot."""
        body = s.LotReceiveSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        return self.read(body.save(), status.HTTP_201_CREATED)


class ConfirmationFilter(django_filters.FilterSet):
    site = django_filters.CharFilter(field_name="operation__work_order__site__code")
    work_order = django_filters.CharFilter(field_name="operation__work_order__erp_number")
    operation = django_filters.NumberFilter(field_name="operation_id")

    class Meta:
        model = Confirmation
        fields = ["site", "work_order", "operation"]


class ConfirmationViewSet(ScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    queryset = Confirmation.objects.select_related(
        "operation__work_order__site", "machine", "confirmed_by"
    ).prefetch_related("consumptions__lot", "produced_lots")
    serializer_class = s.ConfirmationSerializer
    filterset_class = ConfirmationFilter

    @extend_schema(
        request=s.ConfirmationCreateSerializer, responses={201: s.ConfirmationSerializer}
    )
    def create(self, request):
        """Confirm an operation: quantities, minutes, lots consumed and produced."""
        body = s.ConfirmationCreateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        body.is_valid(raise_exception=True)
        confirmation = body.save()
        return self.read(confirmation, status.HTTP_201_CREATED, known=confirmation.known)
