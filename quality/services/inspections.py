"""Inspection results recorded at an operation. An out-of-spec result opens one
non-conformance and raises one ``out_of_spec`` exception for the recording; the rules then
place the hold (the seeded rule "Out of spec: hold the material" runs ``place_quality_hold``,
an action managers may use on any type)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.translation import gettext as _

from exceptions.models import ExceptionType
from exceptions.services import raise_exception
from mes.errors import DomainError, InvalidInput
from mes.models import Lot, Operation
from mes.outbox import emit_event
from mes.services.base import authorize, save_with_history

from ..models import Characteristic, DefectCode, InspectionResult
from .nonconformance import open_nonconformance

OUT_OF_SPEC = "out_of_spec"


@dataclass(frozen=True)
class Measurement:
    characteristic: Characteristic
    value: object = None  # a measured characteristic's value
    passed: bool | None = None  # an attribute's pass/fail
    defect_code: DefectCode | None = None
    sample: int = 1


def plan_characteristics(operation: Operation) -> list[Characteristic]:
    """The characteristics of the active plans for this operation's item and sequence."""
    return list(
        Characteristic.objects.filter(
            plan__is_active=True,
            plan__item_id=operation.work_order.item_id,
            plan__operation_sequence=operation.sequence,
        )
        .select_related("plan")
        .prefetch_related("defect_codes")
        .order_by("plan_id", "position", "pk")
    )


def _judge(m: Measurement, index: int, allowed: set[int]) -> tuple[Decimal | None, bool]:
    field = f"results[{index}]"
    c = m.characteristic
    if c.pk not in allowed:
        raise InvalidInput(
            _("%(c)s is not in this operation's inspection plan.") % {"c": c.name},
            code="not_in_plan",
            fields={field: [_("Not in the plan.")]},
        )
    if c.kind == Characteristic.Kind.ATTRIBUTE:
        if not isinstance(m.passed, bool):
            raise InvalidInput(
                _("%(c)s: say pass or fail.") % {"c": c.name},
                code="passed_required",
                fields={field: [_("Pass or fail is required.")]},
            )
        codes = {d.pk for d in c.defect_codes.all()}
        if m.defect_code is not None and (m.passed or m.defect_code.pk not in codes):
            raise InvalidInput(
                _("%(c)s: that defect code does not apply.") % {"c": c.name},
                code="invalid_defect_code",
                fields={field: [_("Not a defect of this characteristic.")]},
            )
        return None, m.passed
    try:
        value = Decimal(str(m.value))
    except (InvalidOperation, ValueError, TypeError):
        value = None
    if m.value in (None, "") or value is None or not value.is_finite():
        raise InvalidInput(
            _("%(c)s: a measured value is required.") % {"c": c.name},
            code="value_required",
            fields={field: [_("A number is required.")]},
        )
    if value != value.quantize(Decimal(1).scaleb(-c.decimals)) or abs(value) >= Decimal(10**9):
        raise InvalidInput(
            _("%(c)s takes at most %(n)s decimals.") % {"c": c.name, "n": c.decimals},
            code="too_many_decimals",
            fields={field: [_("Too many decimals.")]},
        )
    return value, c.in_spec(value)


def record_results(
    operation: Operation, *, actor, results: Sequence[Measurement], lot: Lot | None = None
) -> list[InspectionResult]:
    """Record one inspection of an operation (one or more samples of its plan's
    characteristics). Nothing is written unless every result is valid."""
    wo = operation.work_order
    authorize(actor, "quality.add_inspectionresult", wo.site_id)
    if not results or len(results) > 200:
        raise InvalidInput(
            _("Record between 1 and 200 results."),
            code="invalid_results",
            fields={"results": [_("1 to 200 results.")]},
        )
    if lot is not None and lot.site_id != wo.site_id:
        raise InvalidInput(
            _("Lot %(lot)s belongs to another site.") % {"lot": lot.number},
            code="wrong_site",
            fields={"lot": [_("Lot of another site.")]},
        )
    allowed = {c.pk for c in plan_characteristics(operation)}
    judged = [_judge(m, i, allowed) for i, m in enumerate(results)]
    user = actor if actor is not None and actor.is_authenticated else None
    with transaction.atomic():
        rows = [
            InspectionResult(
                operation=operation,
                characteristic=m.characteristic,
                lot=lot,
                sample=max(1, min(int(m.sample or 1), 999)),
                value=value,
                passed=passed,
                defect_code=m.defect_code,
                recorded_by=user,
            )
            for m, (value, passed) in zip(results, judged, strict=True)
        ]
        failed = [row for row in rows if not row.passed]
        nc = _open_for(operation, lot, failed) if failed else None
        for row in rows:
            row.nonconformance = nc if not row.passed else None
            save_with_history(row, actor=actor, reason="inspected")
        if nc is not None:
            _raise_for(nc, operation, lot, failed, actor)
        emit_event(
            "inspection.recorded",
            aggregate=operation,
            site=wo.site,
            actor=actor,
            reason="inspected",
            payload={
                "site": wo.site.code,
                "work_order": wo.erp_number,
                "sequence": operation.sequence,
                "lot": lot.number if lot else None,
                "results": [_result_row(row) for row in rows],
                "out_of_spec": len(failed),
                "nonconformance": nc.number if nc else None,
            },
        )
    return rows


def _result_row(row: InspectionResult) -> dict:
    return {
        "characteristic": row.characteristic.name,
        "sample": row.sample,
        "value": None if row.value is None else str(row.value),
        "passed": row.passed,
        "defect_code": row.defect_code.code if row.defect_code else None,
    }


def _limits(c: Characteristic) -> str:
    low = "" if c.lower_limit is None else f"{c.lower_limit.normalize():f}"
    high = "" if c.upper_limit is None else f"{c.upper_limit.normalize():f}"
    return f"{low} … {high} {c.unit}".strip()


def _shown(row: InspectionResult) -> str:
    if row.value is not None:
        return f"{row.value.normalize():f} {row.characteristic.unit}".strip()
    return row.defect_code.code if row.defect_code else _("fail")


def _open_for(operation: Operation, lot, failed: list[InspectionResult]):
    """The non-conformance of a recording's failed results."""
    wo = operation.work_order
    names = ", ".join(sorted({row.characteristic.name for row in failed}))
    return open_nonconformance(
        site=wo.site,
        title=(
            _("Out of spec: %(c)s at %(wo)s / %(seq)s")
            % {"c": names, "wo": wo.erp_number, "seq": operation.sequence}
        )[:200],
        description="\n".join(
            f"{r.characteristic.name} #{r.sample}: {_shown(r)} ({_limits(r.characteristic)})"
            for r in failed
        ),
        actor=None,
        item=wo.item,
        work_order=wo,
        lots=[lot] if lot else [],
    )


def _raise_for(nc, operation: Operation, lot, failed: list[InspectionResult], actor) -> None:
    """One ``out_of_spec`` exception for the non-conformance; the rules hold the material."""
    wo = operation.work_order
    exception_type = ExceptionType.objects.filter(code=OUT_OF_SPEC, is_active=True).first()
    if exception_type is None:
        raise DomainError(
            _("The out-of-spec exception type is missing or inactive."), code="type_missing"
        )
    reporter = (
        actor if actor is not None and actor.has_perm("exceptions.add_exceptionticket") else None
    )
    ticket = raise_exception(
        actor=reporter,
        exception_type=exception_type,
        site=wo.site,
        description=nc.title,
        data={
            "characteristic": ", ".join(sorted({r.characteristic.name for r in failed}))[:200],
            "measured": _shown(failed[0])[:100],
            "limits": _limits(failed[0].characteristic)[:100],
            "nonconformance": nc.number,
        },
        work_order=wo,
        operation=operation,
        lot=lot,
    )
    nc.ticket = ticket
    save_with_history(nc, actor=actor, reason=ticket.number, fields=["ticket"])
