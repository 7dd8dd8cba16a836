"""Shipments: the ERP or the dispatch desk records what left for which customer."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status

from mes import services
from mes.models import Lot, Shipment, ShipmentLine, Site

from .kept import ModelSerializer
from .lookups import resolve
from .serializers import QTY
from .viewsets import ScopedViewSet


class ShipmentLineSerializer(ModelSerializer):
    lot = serializers.SlugRelatedField(slug_field="number", read_only=True)
    item = serializers.CharField(source="lot.item.code", read_only=True)

    class Meta:
        model = ShipmentLine
        fields = ["lot", "item", "quantity"]


class ShipmentSerializer(ModelSerializer):
    site = serializers.SlugRelatedField(slug_field="code", read_only=True)
    lines = ShipmentLineSerializer(many=True, read_only=True)

    class Meta:
        model = Shipment
        fields = ["id", "site", "number", "customer", "shipped_at", "lines"]


class _LineIn(serializers.Serializer):
    lot = serializers.CharField(max_length=64)
    quantity = serializers.DecimalField(**QTY)


class ShipmentCreateSerializer(serializers.Serializer):
    """Ship lots to a customer (``ship_lots``); held quantity is refused (409 ``lot_on_hold``)."""

    site = serializers.CharField()
    number = serializers.CharField(max_length=64)
    customer = serializers.CharField(max_length=200)
    shipped_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    lines = _LineIn(many=True, allow_empty=False, max_length=500)

    def validate(self, attrs):
        user = self.context["request"].user
        site = resolve(Site.objects.visible_to(user), attrs["site"], field="site")
        numbers = [line["lot"] for line in attrs["lines"]]
        lots = {
            lot.number: lot
            for lot in Lot.objects.visible_to(user).filter(site=site, number__in=numbers)
        }
        unknown = sorted(set(numbers) - set(lots))
        if unknown:
            raise serializers.ValidationError(
                {
                    "lines": [
                        _("Unknown lots at %(site)s: %(lots)s")
                        % {"site": site.code, "lots": ", ".join(unknown[:10])}
                    ]
                },
                code="unknown_lot",
            )
        attrs["site"] = site
        attrs["lines"] = [
            services.ShipmentSpec(lot=lots[line["lot"]], quantity=line["quantity"])
            for line in attrs["lines"]
        ]
        return attrs

    def create(self, validated_data):
        return services.ship_lots(actor=self.context["request"].user, **validated_data)


class ShipmentFilter(django_filters.FilterSet):
    site = django_filters.CharFilter(field_name="site__code")
    customer = django_filters.CharFilter(lookup_expr="icontains")
    lot = django_filters.CharFilter(field_name="lines__lot__number", distinct=True)

    class Meta:
        model = Shipment
        fields = ["site", "customer", "lot"]


class ShipmentViewSet(ScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    queryset = Shipment.objects.select_related("site").prefetch_related("lines__lot__item")
    serializer_class = ShipmentSerializer
    lookup_field = "number"
    filterset_class = ShipmentFilter
    # The ERP's account records its deliveries here and reads them back; nothing else.
    open_to_service_accounts = ("create", "list", "retrieve")

    @extend_schema(request=ShipmentCreateSerializer, responses={201: ShipmentSerializer})
    def create(self, request):
        """Record a shipment."""
        body = ShipmentCreateSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        return self.read(body.save(), status.HTTP_201_CREATED)
