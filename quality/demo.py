"""Demo data for quality: defect codes, an inspection plan with measured and pass/fail
characteristics, a day of results on a running order (one out of spec: a non-conformance,
an ``out_of_spec`` exception and, through the rules, a hold), and a supplier lot on hold."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from mes.models import Lot, Operation

from . import services
from .models import Characteristic, DefectCode, InspectionPlan

DEFECTS = [("BURR", "Burr"), ("SCRATCH", "Scratch"), ("POROSITY", "Porosity")]


def _actions(nc, plant) -> None:
    """The out-of-spec non-conformance's actions: containment done, a corrective one due
    tomorrow, and a preventive one already late (the sweep escalates it)."""
    quality = plant.users.get("quality_p1")
    if nc is None or quality is None:
        return
    now = timezone.now()
    for kind, text, due in [
        ("containment", "Sort the lot: measure every piece", now - timedelta(hours=2)),
        ("corrective", "Replace the boring insert, re-run first piece", now + timedelta(days=1)),
        ("preventive", "Add insert wear to the tool life chart", now - timedelta(days=1)),
    ]:
        action = services.add_action(
            nc, actor=quality, kind=kind, description=text, owner=quality, due_at=due
        )
        if kind == "containment":
            services.complete_action(action, actor=quality, reason="sorted, 3 pieces out")


def seed(plant) -> None:
    codes = [DefectCode.objects.create(code=c, name=n) for c, n in DEFECTS]
    p1 = next(site for site in plant.sites if site.code == "P1")
    op = (
        Operation.objects.filter(work_order__site=p1, status="in_progress")
        .select_related("work_order__item", "work_order__site")
        .order_by("work_order__erp_number")
        .first()
    )
    if op is not None:
        plan = InspectionPlan.objects.create(
            name="First piece and every 50",
            item=op.work_order.item,
            operation_sequence=op.sequence,
            frequency="every_n",
            every_n=50,
            sample_size=2,
        )
        diameter = Characteristic.objects.create(
            plan=plan,
            name="Ø 20 h7",
            nominal=Decimal("20.000"),
            lower_limit=Decimal("19.979"),
            upper_limit=Decimal("20.000"),
            unit="mm",
            decimals=3,
        )
        surface = Characteristic.objects.create(
            plan=plan, name="Surface", kind="attribute", position=1
        )
        surface.defect_codes.set(codes[:2])
        operator = plant.users.get("operator_p1")
        for value in ["19.991", "19.988", "19.995", "19.990", "19.986", "19.993", "19.989"]:
            services.record_results(
                op,
                actor=operator,
                results=[
                    services.Measurement(diameter, value=value),
                    services.Measurement(surface, passed=True),
                ],
            )
        failed = services.record_results(  # out of spec: the rules hold the operation
            op,
            actor=operator,
            results=[
                services.Measurement(diameter, value="20.012"),
                services.Measurement(surface, passed=False, defect_code=codes[0]),
            ],
        )
        _actions(failed[0].nonconformance, plant)
    lot = Lot.objects.filter(site=p1, held_qty=0).order_by("number").first()
    if lot is not None:
        services.place_hold(
            scope="lot",
            lot=lot,
            actor=None,
            reason="Supplier alert: heat number under investigation",
        )
