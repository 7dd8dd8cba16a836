"""The shape of the records the ERP sends (validated one by one)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import serializers

from mes.choices import ItemKind, Unit, WorkCenterKind

from .batch import CANCELLED

_INT_MAX = 2**31 - 1
_BIGINT_MAX = 2**63 - 1


class AsSent(serializers.CharField):
    """Display text stored as the ERP sent it (the stock field trims spaces); still not
    blank."""

    def __init__(self, **kwargs):
        super().__init__(trim_whitespace=False, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not self.allow_blank and not value.strip():
            self.fail("blank")
        return value


class OperationIn(serializers.Serializer):
    sequence = serializers.IntegerField(min_value=1, max_value=_INT_MAX)
    work_center = serializers.CharField(max_length=40)
    setup_minutes = serializers.DecimalField(max_digits=12, decimal_places=4, min_value=0)
    run_minutes_per_unit = serializers.DecimalField(max_digits=12, decimal_places=4, min_value=0)
    description = serializers.CharField(max_length=200, required=False, default="")


class ComponentIn(serializers.Serializer):
    item = serializers.CharField(max_length=60)
    quantity = serializers.DecimalField(max_digits=14, decimal_places=3, min_value=0)


class WorkOrderIn(serializers.Serializer):
    erp_number = serializers.CharField(max_length=64)
    site = serializers.CharField(max_length=20)
    item = serializers.CharField(max_length=60)
    quantity = serializers.DecimalField(max_digits=14, decimal_places=3)
    due_date = serializers.DateField()
    erp_version = serializers.IntegerField(min_value=0, max_value=_BIGINT_MAX)
    status = serializers.ChoiceField(choices=["active", CANCELLED], required=False)
    reference = AsSent(max_length=100, required=False, allow_blank=True, allow_null=True)
    operations = OperationIn(many=True, required=False, default=list)
    components = ComponentIn(many=True, required=False, default=list)

    def validate_quantity(self, value):
        if value <= 0:
            raise serializers.ValidationError(
                _("The quantity must be more than zero."), code="invalid_quantity"
            )
        return value

    def validate(self, attrs):
        if attrs.get("status") != CANCELLED and not attrs["operations"]:
            raise serializers.ValidationError(
                {"operations": [_("At least one operation is required.")]},
                code="missing_operations",
            )
        sequences = [op["sequence"] for op in attrs["operations"]]
        if len(set(sequences)) != len(sequences):
            raise serializers.ValidationError(
                {"operations": [_("Operation sequences must be unique.")]},
                code="duplicate_sequence",
            )
        return attrs


class ItemIn(serializers.Serializer):
    code = serializers.CharField(max_length=60)
    name = AsSent(max_length=200)
    kind = serializers.ChoiceField(choices=ItemKind.choices)
    unit = serializers.ChoiceField(choices=Unit.choices, required=False, default=Unit.PCS)
    requires_certificate = serializers.BooleanField(required=False, default=False)
    is_active = serializers.BooleanField(required=False, default=True)


class WorkCenterIn(serializers.Serializer):
    code = serializers.CharField(max_length=40)
    site = serializers.CharField(max_length=20)
    name = AsSent(max_length=200)
    kind = serializers.ChoiceField(
        choices=WorkCenterKind.choices, required=False, default=WorkCenterKind.OTHER
    )
    is_active = serializers.BooleanField(required=False, default=True)


class LotIn(serializers.Serializer):
    number = serializers.CharField(max_length=64)
    site = serializers.CharField(max_length=20)
    item = serializers.CharField(max_length=60)
    quantity = serializers.DecimalField(max_digits=14, decimal_places=3, min_value=0)
    supplier = AsSent(max_length=200, required=False, default="", allow_blank=True)
    certificate = serializers.CharField(
        max_length=100, required=False, default="", allow_blank=True, allow_null=True
    )
    received = serializers.DateTimeField(required=False, allow_null=True, default=None)
