"""Quality's API shapes: read shapes with codes and numbers, write shapes that call services."""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from mes.api.kept import ModelSerializer
from mes.api.lookups import resolve
from mes.models import Item, Lot, Operation, Site, WorkCenter, WorkOrder

from ..models import (
    Characteristic,
    DefectCode,
    DispositionReason,
    HeldLot,
    HoldDecision,
    InspectionResult,
    NcAction,
    NonConformance,
    QualityHold,
)

QTY = {"max_digits": 14, "decimal_places": 3, "min_value": Decimal(0)}
SLUG = {"read_only": True, "allow_null": True}


class HeldLotSerializer(ModelSerializer):
    lot = serializers.SlugRelatedField(slug_field="number", read_only=True)
    item = serializers.CharField(source="lot.item.code", read_only=True)

    class Meta:
        model = HeldLot
        fields = ["lot", "item", "quantity", "open_qty"]


class HoldDecisionSerializer(ModelSerializer):
    lot = serializers.SlugRelatedField(slug_field="number", **SLUG)
    reason_code = serializers.SlugRelatedField(slug_field="code", **SLUG)
    decided_by = serializers.SlugRelatedField(slug_field="username", **SLUG)

    class Meta:
        model = HoldDecision
        fields = [
            "kind",
            "lot",
            "quantity",
            "released_qty",
            "scrapped_qty",
            "reason_code",
            "reason",
            "decided_by",
            "decided_at",
        ]


class QualityHoldSerializer(ModelSerializer):
    number = serializers.CharField(read_only=True)
    site = serializers.SlugRelatedField(slug_field="code", read_only=True)
    lot = serializers.SlugRelatedField(slug_field="number", **SLUG)
    work_order = serializers.SlugRelatedField(slug_field="erp_number", **SLUG)
    item = serializers.SlugRelatedField(slug_field="code", **SLUG)
    nonconformance = serializers.CharField(source="nonconformance.number", **SLUG)
    ticket = serializers.SlugRelatedField(slug_field="number", **SLUG)
    placed_by = serializers.SlugRelatedField(slug_field="username", **SLUG)
    lots = HeldLotSerializer(many=True, read_only=True)
    decisions = HoldDecisionSerializer(many=True, read_only=True)

    class Meta:
        model = QualityHold
        fields = [
            "id",
            "number",
            "site",
            "target",
            "status",
            "reason",
            "lot",
            "work_order",
            "operation",
            "item",
            "nonconformance",
            "ticket",
            "placed_by",
            "placed_at",
            "closed_at",
            "version",
            "lots",
            "decisions",
        ]


class PlaceHoldSerializer(serializers.Serializer):
    """What to hold: ``target`` and the one field it names (``lot``, ``work_order``,
    ``operation`` id, or ``item`` with ``site``); ``quantity`` only with a lot."""

    target = serializers.ChoiceField(choices=QualityHold.Target.choices)
    site = serializers.CharField(required=False)
    lot = serializers.CharField(required=False)
    work_order = serializers.CharField(required=False)
    operation = serializers.IntegerField(required=False, min_value=1)
    item = serializers.CharField(required=False)
    quantity = serializers.DecimalField(**QTY, required=False, allow_null=True)
    reason = serializers.CharField(max_length=500, allow_blank=True)

    def validate(self, attrs):
        user = self.context["request"].user
        target, site_code = attrs["target"], attrs.get("site")
        out = {"scope": target, "reason": attrs["reason"], "quantity": attrs.get("quantity")}
        key = {
            "lot": "lot",
            "supplier_lot": "lot",
            "work_order": "work_order",
            "operation": "operation",
            "item": "item",
        }[target]
        if attrs.get(key) in (None, ""):
            raise serializers.ValidationError(
                {key: [_("Required for this target.")]}, code="hold_target_required"
            )
        if key == "lot":
            out["lot"] = resolve(
                Lot.objects.visible_to(user), attrs["lot"], field="lot", site=site_code
            )
        elif key == "work_order":
            out["work_order"] = resolve(
                WorkOrder.objects.visible_to(user),
                attrs["work_order"],
                field="work_order",
                site=site_code,
            )
        elif key == "operation":
            out["operation"] = resolve(
                Operation.objects.visible_to(user).select_related("work_order__site"),
                attrs["operation"],
                field="operation",
            )
        else:
            out["item"] = resolve(Item.objects.visible_to(user), attrs["item"], field="item")
            if not site_code:
                raise serializers.ValidationError(
                    {"site": [_("Required with an item.")]}, code="site_required"
                )
            out["site"] = resolve(Site.objects.visible_to(user), site_code, field="site")
        return out


class DecideSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=HoldDecision.Kind.choices)
    lot = serializers.CharField(required=False, allow_blank=True)
    quantity = serializers.DecimalField(**QTY, required=False, allow_null=True)
    released_qty = serializers.DecimalField(**QTY, required=False, allow_null=True)
    reason = serializers.CharField(max_length=500, allow_blank=True)
    reason_code = serializers.CharField(required=False, allow_blank=True)
    work_center = serializers.CharField(required=False, allow_blank=True)

    def validate(self, attrs):
        user, hold = self.context["request"].user, self.context["hold"]
        out = {k: attrs.get(k) for k in ("kind", "quantity", "released_qty", "reason")}
        out["lot"] = (
            resolve(Lot.objects.visible_to(user).filter(site=hold.site), attrs["lot"], field="lot")
            if attrs.get("lot")
            else None
        )
        out["reason_code"] = None
        if attrs.get("reason_code"):
            out["reason_code"] = DispositionReason.objects.filter(
                is_active=True, code=attrs["reason_code"]
            ).first()
            if out["reason_code"] is None:
                raise serializers.ValidationError(
                    {"reason_code": [_("Unknown disposition reason.")]},
                    code="unknown_reason_code",
                )
        out["work_center"] = (
            resolve(
                WorkCenter.objects.visible_to(user).filter(site=hold.site),
                attrs["work_center"],
                field="work_center",
            )
            if attrs.get("work_center")
            else None
        )
        return out


class HoldReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, allow_blank=True)


class NcActionSerializer(ModelSerializer):
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = NcAction
        fields = ["id", "kind", "description", "owner", "due_at", "done_at", "escalated_at"]


class NonConformanceSerializer(ModelSerializer):
    number = serializers.CharField(read_only=True)
    site = serializers.SlugRelatedField(slug_field="code", read_only=True)
    item = serializers.SlugRelatedField(slug_field="code", **SLUG)
    work_order = serializers.SlugRelatedField(slug_field="erp_number", **SLUG)
    ticket = serializers.SlugRelatedField(slug_field="number", **SLUG)
    lots = serializers.SlugRelatedField(slug_field="number", many=True, read_only=True)
    actions = NcActionSerializer(many=True, read_only=True)

    class Meta:
        model = NonConformance
        fields = [
            "id",
            "number",
            "site",
            "title",
            "description",
            "status",
            "item",
            "work_order",
            "lots",
            "supplier",
            "ticket",
            "root_cause",
            "containment",
            "opened_at",
            "closed_at",
            "version",
            "actions",
        ]


class ResultInSerializer(serializers.Serializer):
    characteristic = serializers.IntegerField(min_value=1)
    value = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=40)
    passed = serializers.BooleanField(required=False, allow_null=True, default=None)
    defect_code = serializers.CharField(required=False, allow_blank=True)
    sample = serializers.IntegerField(required=False, min_value=1, max_value=999, default=1)


class RecordResultsSerializer(serializers.Serializer):
    operation = serializers.IntegerField(min_value=1)
    lot = serializers.CharField(required=False, allow_blank=True)
    results = ResultInSerializer(many=True, allow_empty=False, max_length=200)

    def validate(self, attrs):
        from ..services import Measurement

        user = self.context["request"].user
        op = resolve(
            Operation.objects.visible_to(user).select_related(
                "work_order__site", "work_order__item"
            ),
            attrs["operation"],
            field="operation",
        )
        chars = {
            c.pk: c
            for c in Characteristic.objects.filter(
                pk__in=[r["characteristic"] for r in attrs["results"]]
            )
        }
        codes = {d.code: d for d in DefectCode.objects.filter(is_active=True)}
        results = []
        for i, row in enumerate(attrs["results"]):
            if row["characteristic"] not in chars:
                raise serializers.ValidationError(
                    {"results": [_("Row %(i)s: unknown characteristic.") % {"i": i}]},
                    code="unknown_characteristic",
                )
            code = row.get("defect_code")
            if code and code not in codes:
                raise serializers.ValidationError(
                    {"results": [_("Row %(i)s: unknown defect code.") % {"i": i}]},
                    code="unknown_defect_code",
                )
            results.append(
                Measurement(
                    chars[row["characteristic"]],
                    value=row.get("value"),
                    passed=row.get("passed"),
                    defect_code=codes.get(code) if code else None,
                    sample=row["sample"],
                )
            )
        lot = None
        if attrs.get("lot"):
            lot = resolve(
                Lot.objects.visible_to(user).filter(site=op.work_order.site),
                attrs["lot"],
                field="lot",
            )
        return {"operation": op, "lot": lot, "results": results}


class InspectionResultSerializer(ModelSerializer):
    characteristic = serializers.CharField(source="characteristic.name", read_only=True)
    work_order = serializers.CharField(source="operation.work_order.erp_number", read_only=True)
    sequence = serializers.IntegerField(source="operation.sequence", read_only=True)
    lot = serializers.SlugRelatedField(slug_field="number", **SLUG)
    defect_code = serializers.SlugRelatedField(slug_field="code", **SLUG)
    nonconformance = serializers.CharField(source="nonconformance.number", **SLUG)

    class Meta:
        model = InspectionResult
        fields = [
            "id",
            "characteristic",
            "work_order",
            "sequence",
            "lot",
            "sample",
            "value",
            "passed",
            "defect_code",
            "nonconformance",
            "recorded_at",
        ]
