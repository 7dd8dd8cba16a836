"""Every state change of quality: holds and their decisions, non-conformances, inspection
results. Each is atomic, authorized, with history and one catalogued event."""

from .decisions import decide
from .holds import extend_item_holds, place_hold, review_hold
from .inspections import Measurement, plan_characteristics, record_results
from .nonconformance import (
    add_action,
    complete_action,
    escalate_overdue_actions,
    open_nonconformance,
    save_quality_configuration,
    update_nonconformance,
)

__all__ = [
    "Measurement",
    "plan_characteristics",
    "record_results",
    "add_action",
    "complete_action",
    "decide",
    "escalate_overdue_actions",
    "extend_item_holds",
    "open_nonconformance",
    "place_hold",
    "review_hold",
    "save_quality_configuration",
    "update_nonconformance",
]
