"""Serializers: read shapes with codes instead of ids, and write shapes that call services."""

from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from mes import services
from mes.models import (
    Confirmation,
    Item,
    Lot,
    LotConsumption,
    Machine,
    Operation,
    Site,
    WorkCenter,
    WorkOrder,
)

from .kept import ModelSerializer
from .lookups import resolve

QTY = {"max_digits": 14, "decimal_places": 3, "min_value": Decimal(0)}
MIN = {"max_digits": 12, "decimal_places": 4, "min_value": Decimal(0)}


class SiteSerializer(ModelSerializer):
    class Meta:
        model = Site
        fields = ["id", "code", "name", "timezone", "is_active"]


class WorkCenterSerializer(ModelSerializer):
    site = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = WorkCenter
        fields = ["id", "site", "code", "name", "kind", "is_active"]


class MachineSerializer(ModelSerializer):
    site = serializers.SlugRelatedField(slug_field="code", read_only=True)
    work_center = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Machine
        fields = ["id", "site", "work_center", "code", "name", "ideal_cycle_seconds", "is_active"]


class ItemSerializer(ModelSerializer):
    class Meta:
        model = Item
        fields = ["id", "code", "name", "kind", "unit", "requires_certificate", "is_active"]


class OperationSerializer(ModelSerializer):
    site = serializers.CharField(source="work_order.site.code", read_only=True)
    work_order = serializers.CharField(source="work_order.erp_number", read_only=True)
    work_order_id = serializers.IntegerField(read_only=True)
    work_center = serializers.SlugRelatedField(slug_field="code", read_only=True)
    machine = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = Operation
        fields = [
            "id",
            "site",
            "work_order",
            "work_order_id",
            "sequence",
            "work_center",
            "description",
            "planned_setup_minutes",
            "planned_run_minutes_per_unit",
            "status",
            "dispatch_rank",
            "machine",
            "planned_start",
            "planned_end",
            "actual_start",
            "actual_end",
        ]


class RoutingStepSerializer(ModelSerializer):
    """An operation as shown inside its work order."""

    work_center = serializers.SlugRelatedField(slug_field="code", read_only=True)
    machine = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = Operation
        fields = [
            "id",
            "sequence",
            "work_center",
            "status",
            "dispatch_rank",
            "machine",
            "planned_setup_minutes",
            "planned_run_minutes_per_unit",
            "actual_start",
            "actual_end",
        ]


class WorkOrderSerializer(ModelSerializer):
    site = serializers.SlugRelatedField(slug_field="code", read_only=True)
    item = serializers.SlugRelatedField(slug_field="code", read_only=True)
    item_name = serializers.CharField(source="item.name", read_only=True)
    behind = serializers.SerializerMethodField()
    operations = RoutingStepSerializer(many=True, read_only=True)

    class Meta:
        model = WorkOrder
        fields = [
            "id",
            "site",
            "erp_number",
            "item",
            "item_name",
            "planned_qty",
            "due_date",
            "priority",
            "status",
            "behind",
            "erp_version",
            "erp_reference",
            "planned_start",
            "planned_end",
            "projected_end",
            "released_at",
            "started_at",
            "completed_at",
            "closed_at",
            "operations",
        ]

    def get_behind(self, obj) -> bool:
        return obj.is_behind(self.context.get("now"))


class OperationInputSerializer(serializers.Serializer):
    sequence = serializers.IntegerField(min_value=1)
    work_center = serializers.CharField()
    setup_minutes = serializers.DecimalField(**MIN, default=Decimal(0))
    run_minutes_per_unit = serializers.DecimalField(**MIN, default=Decimal(0))
    description = serializers.CharField(required=False, allow_blank=True, default="")


class WorkOrderCreateSerializer(serializers.Serializer):
    """Create a planned work order with its routing (``create_work_order``)."""

    site = serializers.CharField()
    erp_number = serializers.CharField(max_length=64)
    item = serializers.CharField()
    planned_qty = serializers.DecimalField(
        max_digits=14, decimal_places=3, min_value=Decimal("0.001")
    )
    due_date = serializers.DateField()
    priority = serializers.IntegerField(min_value=1, max_value=99, default=50)
    planned_start = serializers.DateTimeField(required=False, allow_null=True)
    planned_end = serializers.DateTimeField(required=False, allow_null=True)
    operations = OperationInputSerializer(many=True, allow_empty=False)

    def validate(self, attrs):
        user = self.context["request"].user
        site = resolve(Site.objects.visible_to(user), attrs["site"], field="site")
        attrs["site"] = site
        attrs["item"] = resolve(Item.objects.visible_to(user), attrs["item"], field="item")
        work_centers = WorkCenter.objects.visible_to(user).filter(site=site)
        attrs["operations"] = [
            services.OperationSpec(
                sequence=op["sequence"],
                work_center=resolve(work_centers, op["work_center"], field="work_center"),
                setup_minutes=op["setup_minutes"],
                run_minutes_per_unit=op["run_minutes_per_unit"],
                description=op["description"],
            )
            for op in attrs["operations"]
        ]
        return attrs

    def create(self, validated_data):
        return services.create_work_order(actor=self.context["request"].user, **validated_data)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class StartOperationSerializer(serializers.Serializer):
    machine = serializers.CharField(required=False, allow_null=True, default=None)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class ResequenceSerializer(serializers.Serializer):
    operations = serializers.ListField(
        child=serializers.IntegerField(min_value=1), allow_empty=True
    )
    reason = serializers.CharField(max_length=500)


class LotSerializer(ModelSerializer):
    site = serializers.SlugRelatedField(slug_field="code", read_only=True)
    item = serializers.SlugRelatedField(slug_field="code", read_only=True)
    produced_by = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    work_order = serializers.SlugRelatedField(
        slug_field="erp_number", read_only=True, allow_null=True
    )
    certificate_missing = serializers.BooleanField(
        read_only=True, help_text="Its item requires a certificate and it has none."
    )

    class Meta:
        model = Lot
        fields = [
            "id",
            "site",
            "number",
            "item",
            "quantity",
            "held_qty",
            "status",
            "supplier",
            "certificate",
            "certificate_missing",
            "received_at",
            "produced_by",
            "work_order",
        ]


class LotReceiveSerializer(serializers.Serializer):
    """Receive a supplier lot (``receive_lot``)."""

    site = serializers.CharField()
    number = serializers.CharField(max_length=64)
    item = serializers.CharField()
    quantity = serializers.DecimalField(**QTY)
    supplier = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    certificate = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=100
    )
    received_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    def validate(self, attrs):
        user = self.context["request"].user
        attrs["site"] = resolve(Site.objects.visible_to(user), attrs["site"], field="site")
        attrs["item"] = resolve(Item.objects.visible_to(user), attrs["item"], field="item")
        return attrs

    def create(self, validated_data):
        return services.receive_lot(actor=self.context["request"].user, **validated_data)


class LotConsumptionSerializer(ModelSerializer):
    lot = serializers.SlugRelatedField(slug_field="number", read_only=True)

    class Meta:
        model = LotConsumption
        fields = ["lot", "quantity"]


class ConfirmationSerializer(ModelSerializer):
    site = serializers.CharField(source="operation.work_order.site.code", read_only=True)
    work_order = serializers.CharField(source="operation.work_order.erp_number", read_only=True)
    sequence = serializers.IntegerField(source="operation.sequence", read_only=True)
    machine = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    confirmed_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    consumed = LotConsumptionSerializer(source="consumptions", many=True, read_only=True)
    produced_lots = serializers.SlugRelatedField(slug_field="number", many=True, read_only=True)

    class Meta:
        model = Confirmation
        fields = [
            "id",
            "site",
            "work_order",
            "operation",
            "sequence",
            "good_qty",
            "scrap_qty",
            "labor_minutes",
            "machine_minutes",
            "machine",
            "started_at",
            "ended_at",
            "final",
            "note",
            "confirmed_by",
            "created_at",
            "consumed",
            "produced_lots",
        ]


class ConsumedLotInputSerializer(serializers.Serializer):
    lot = serializers.CharField()
    quantity = serializers.DecimalField(max_digits=14, decimal_places=3, min_value=Decimal("0.001"))


def _operation_by_number(operations, attrs) -> Operation | None:
    """The operation of one order's ERP number and sequence, in one query; None when that
    names no single one (the caller then says why)."""
    found = operations.filter(
        work_order__erp_number=str(attrs["work_order"]).strip(), sequence=attrs["sequence"]
    )
    if attrs.get("site"):
        found = found.filter(work_order__site__code=attrs["site"])
    found = list(found[:2])
    return found[0] if len(found) == 1 else None


class ConfirmationCreateSerializer(serializers.Serializer):
    """Confirm an operation, named by ``operation`` (id) or by ``work_order`` + ``sequence``."""

    operation = serializers.IntegerField(required=False, min_value=1)
    work_order = serializers.CharField(required=False)
    sequence = serializers.IntegerField(required=False, min_value=1)
    site = serializers.CharField(required=False)
    good_qty = serializers.DecimalField(**QTY)
    scrap_qty = serializers.DecimalField(**QTY, default=Decimal(0))
    labor_minutes = serializers.DecimalField(**MIN, default=Decimal(0))
    machine_minutes = serializers.DecimalField(**MIN, default=Decimal(0))
    machine = serializers.CharField(required=False, allow_null=True, default=None)
    started_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    ended_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    final = serializers.BooleanField(default=False)
    consumed = ConsumedLotInputSerializer(many=True, required=False, default=list)
    produced_lot = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=64, default=None
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)

    def validate(self, attrs):
        user = self.context["request"].user
        operations = Operation.objects.visible_to(user).select_related("work_order__site")
        if attrs.get("operation"):
            op = operations.filter(pk=attrs["operation"]).first()
            if op is None:
                raise serializers.ValidationError(
                    {"operation": [_("Unknown operation.")]}, code="unknown_operation"
                )
        elif attrs.get("work_order") and attrs.get("sequence"):
            op = _operation_by_number(operations, attrs)
            if op is None:
                orders = WorkOrder.objects.visible_to(user)
                wo = resolve(
                    orders, attrs["work_order"], field="work_order", site=attrs.get("site")
                )
                op = operations.filter(work_order=wo, sequence=attrs["sequence"]).first()
            if op is None:
                raise serializers.ValidationError(
                    {"sequence": [_("The work order has no such operation.")]},
                    code="unknown_operation",
                )
        else:
            raise serializers.ValidationError(
                {"operation": [_("Give operation, or work_order and sequence.")]}, code="required"
            )
        site = op.work_order.site
        lots = Lot.objects.visible_to(user).filter(site=site).select_related("item")
        consumed = []
        for entry in attrs.get("consumed") or []:
            lot = lots.filter(number=entry["lot"]).first()
            if lot is None:
                raise serializers.ValidationError(
                    {
                        "consumed": [
                            _("Unknown lot %(lot)s at %(site)s.")
                            % {"lot": entry["lot"], "site": site.code}
                        ]
                    },
                    code="unknown_lot",
                )
            consumed.append(services.Consumption(lot=lot, quantity=entry["quantity"]))
        machine = None
        if attrs.get("machine"):
            machine = resolve(
                Machine.objects.visible_to(user).filter(site=site),
                attrs["machine"],
                field="machine",
            )
        return {
            "operation": op,
            "good_qty": attrs["good_qty"],
            "scrap_qty": attrs["scrap_qty"],
            "labor_minutes": attrs["labor_minutes"],
            "machine_minutes": attrs["machine_minutes"],
            "machine": machine,
            "started_at": attrs.get("started_at"),
            "ended_at": attrs.get("ended_at"),
            "final": attrs["final"],
            "consumed": consumed,
            "produced_lot": attrs.get("produced_lot") or None,
            "note": attrs.get("note", ""),
        }

    def create(self, validated_data):
        operation = validated_data.pop("operation")
        return services.confirm_operation(
            operation, actor=self.context["request"].user, **validated_data
        )


class MachineCountsSerializer(serializers.Serializer):
    machine = serializers.CharField(allow_null=True)
    since = serializers.DateTimeField(allow_null=True)
    until = serializers.DateTimeField()
    good = serializers.IntegerField()
    scrap = serializers.IntegerField()
    running_minutes = serializers.FloatField()
