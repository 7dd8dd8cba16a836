"""Quality's outbox event types (see :mod:`mes.events`)."""

from django.utils.translation import gettext_lazy as _

from exceptions.events import RULE
from mes.events import ERP, NOTIFICATIONS, catalogue, event

HOLD = catalogue.name_fields(
    "quality hold",
    ("hold", "hold_id", "site", "target", "status", "work_order", "item", "nonconformance"),
)
NC = catalogue.name_fields(
    "non-conformance",
    (
        "nonconformance",
        "nonconformance_id",
        "site",
        "title",
        "status",
        "item",
        "work_order",
        "supplier",
    ),
)
_H = "quality.services.holds"
_D = "quality.services.decisions"
_N = "quality.services.nonconformance"

event(
    "quality_hold.placed",
    _("Quality hold placed (lots and quantities held)"),
    (*HOLD, "lots"),
    f"{_H}.place_hold",
    ERP,
    NOTIFICATIONS,
)
event(
    "quality_hold.extended",
    _("A new lot of an item on hold joined the hold"),
    (*HOLD, "lots"),
    f"{_H}.extend_item_holds",
    ERP,
    NOTIFICATIONS,
)
event("quality_hold.reviewed", _("Quality hold under review"), HOLD, f"{_H}.review_hold")
event(
    "quality_hold.released",
    _("Held quantity released"),
    (*HOLD, "lots", "closed"),
    f"{_D}.decide",
    ERP,
    NOTIFICATIONS,
)
event(
    "lot.dispositioned",
    _("Held lot dispositioned (use as is, rework, scrap, return, sort)"),
    (
        *HOLD,
        "lot",
        "disposition",
        "quantity",
        "released_qty",
        "scrapped_qty",
        "reason_code",
        "rework_operation",
        "closed",
    ),
    f"{_D}.decide",
    ERP,
    NOTIFICATIONS,
)
event(
    "nonconformance.opened",
    _("Non-conformance opened"),
    (*NC, "lots", "description"),
    f"{_N}.open_nonconformance",
    ERP,
    NOTIFICATIONS,
)
event(
    "nonconformance.changed",
    _("Non-conformance changed (cause, containment, actions, status)"),
    (*NC, "changed", "action"),
    (f"{_N}.update_nonconformance", f"{_N}.add_action", f"{_N}.complete_action"),
    NOTIFICATIONS,
)
event(
    "nc_action.overdue",
    _("A non-conformance action is past its due date (escalated once)"),
    (*NC, "action"),
    f"{_N}.escalate_overdue_actions",
    ERP,
    NOTIFICATIONS,
)
event(
    "exception.quality_held",
    _("A rule placed a quality hold on what the exception names"),
    (*RULE, "hold"),
    "quality.rules.place_quality_hold",
)
event(
    "quality.configuration_changed",
    _("Disposition reason or site quality policy changed"),
    ("id", "label", "created", "changed", "previous"),
    f"{_N}.save_quality_configuration",
)
event(
    "inspection.recorded",
    _("Inspection results recorded (out of spec: a non-conformance)"),
    ("site", "work_order", "sequence", "lot", "results", "out_of_spec", "nonconformance"),
    "quality.services.inspections.record_results",
    ERP,
)
