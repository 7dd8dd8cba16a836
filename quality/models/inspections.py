"""Inspection plans (per item and operation), their characteristics with spec limits, and
the results recorded on the floor."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from mes.models import (
    GLOBAL,
    GlobalQuerySet,
    HistoryAuditFields,
    Item,
    Lot,
    Operation,
    SiteScopedQuerySet,
)

VALUE = {"max_digits": 14, "decimal_places": 4}


class DefectCode(models.Model):
    """A plant's defect catalogue (scratch, burr, porosity...)."""

    scope = GLOBAL

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    is_active = models.BooleanField(_("active"), default=True)

    objects = GlobalQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields])

    class Meta:
        ordering = ["code"]
        verbose_name = _("defect code")
        verbose_name_plural = _("defect codes")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class InspectionPlan(models.Model):
    """What to check on an item at one operation of its routing, and how often."""

    scope = GLOBAL

    class Frequency(models.TextChoices):
        FIRST_PIECE = "first_piece", _("First piece")
        EVERY_N = "every_n", _("Every n pieces")
        PER_LOT = "per_lot", _("Once per lot")

    name = models.CharField(_("name"), max_length=200)
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="inspection_plans")
    operation_sequence = models.PositiveIntegerField(
        _("operation"), help_text=_("The sequence of the operation it applies to (10, 20...).")
    )
    frequency = models.CharField(
        _("frequency"), max_length=20, choices=Frequency.choices, default=Frequency.FIRST_PIECE
    )
    every_n = models.PositiveIntegerField(
        _("every n pieces"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    sample_size = models.PositiveSmallIntegerField(
        _("sample size"), default=1, validators=[MinValueValidator(1), MaxValueValidator(50)]
    )
    is_active = models.BooleanField(_("active"), default=True)

    objects = GlobalQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields])

    class Meta:
        ordering = ["item__code", "operation_sequence", "name"]
        verbose_name = _("inspection plan")
        verbose_name_plural = _("inspection plans")

    def __str__(self) -> str:
        return f"{self.item.code} / {self.operation_sequence}: {self.name}"

    def clean(self):
        if self.frequency == self.Frequency.EVERY_N and not self.every_n:
            raise ValidationError({"every_n": _("Say every how many pieces.")})


class Characteristic(models.Model):
    """One thing measured (a diameter: nominal, limits, unit, decimals) or judged (pass/fail,
    with the defect codes it may fail with)."""

    scope = GLOBAL

    class Kind(models.TextChoices):
        VARIABLE = "variable", _("Measured (variable)")
        ATTRIBUTE = "attribute", _("Pass/fail (attribute)")

    plan = models.ForeignKey(
        InspectionPlan, on_delete=models.CASCADE, related_name="characteristics"
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.VARIABLE)
    nominal = models.DecimalField(_("nominal"), **VALUE, null=True, blank=True)
    lower_limit = models.DecimalField(_("lower spec limit"), **VALUE, null=True, blank=True)
    upper_limit = models.DecimalField(_("upper spec limit"), **VALUE, null=True, blank=True)
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    decimals = models.PositiveSmallIntegerField(
        _("decimals"), default=2, validators=[MaxValueValidator(4)]
    )
    defect_codes = models.ManyToManyField(DefectCode, blank=True, related_name="+")

    objects = GlobalQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields])

    class Meta:
        ordering = ["plan", "position", "pk"]
        verbose_name = _("characteristic")
        verbose_name_plural = _("characteristics")

    def __str__(self) -> str:
        return self.name

    def clean(self):
        if self.kind != self.Kind.VARIABLE:
            return
        if self.lower_limit is None and self.upper_limit is None:
            raise ValidationError(_("A measured characteristic needs a lower or upper limit."))
        if (
            self.lower_limit is not None
            and self.upper_limit is not None
            and self.lower_limit > self.upper_limit
        ):
            raise ValidationError({"upper_limit": _("Below the lower limit.")})

    def in_spec(self, value: Decimal) -> bool:
        return (self.lower_limit is None or value >= self.lower_limit) and (
            self.upper_limit is None or value <= self.upper_limit
        )


class InspectionResult(models.Model):
    """One sample's result of one characteristic at an operation. Facts: never edited."""

    site_path = "operation__work_order__site"

    operation = models.ForeignKey(
        Operation, on_delete=models.PROTECT, related_name="inspection_results"
    )
    characteristic = models.ForeignKey(
        Characteristic, on_delete=models.PROTECT, related_name="results"
    )
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    sample = models.PositiveSmallIntegerField(_("sample"), default=1)
    value = models.DecimalField(_("value"), **VALUE, null=True, blank=True)
    passed = models.BooleanField(_("in spec"))
    defect_code = models.ForeignKey(
        DefectCode, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    nonconformance = models.ForeignKey(
        "NonConformance", on_delete=models.PROTECT, null=True, blank=True, related_name="results"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    objects = SiteScopedQuerySet.as_manager()
    history = HistoricalRecords(
        bases=[HistoryAuditFields],
        no_db_index=["operation", "lot", "defect_code", "nonconformance", "recorded_by"],
    )

    class Meta:
        ordering = ["-recorded_at", "-pk"]
        verbose_name = _("inspection result")
        verbose_name_plural = _("inspection results")
        indexes = [models.Index(fields=["characteristic", "recorded_at"])]

    def __str__(self) -> str:
        shown = self.value if self.value is not None else ("pass" if self.passed else "fail")
        return f"{self.characteristic}: {shown}"
