"""Every state change of the production core.

Each service is atomic, locks the rows it changes, checks the caller's permission and site, checks
the allowed-transition table in :mod:`mes.choices`, saves each changed row once (one history row
with actor and reason) and writes exactly one OutboxEvent in the same transaction. ``actor=None``
means the system itself (a task, a migration); it skips the permission check.
"""

from .base import authorize, on_new_lot, save_with_history
from .config import save_calendar, save_configuration
from .create import (
    ComponentSpec,
    NewWorkOrder,
    OperationSpec,
    create_work_order,
    create_work_orders,
)
from .lots import (
    ShipmentSpec,
    add_rework_operation,
    lock_lot,
    return_lot,
    scrap_lot,
    settle_status,
    ship_lots,
)
from .machines import (
    Counted,
    counter_delta,
    machine_counts,
    on_downtime,
    open_due_downtimes,
    record_counts,
    report_state,
    set_downtime_reason,
)
from .master import receive_lot, save_master_record
from .operations import Consumption, confirm_operation, resequence_work_center, start_operation
from .projection import reproject_work_order, reproject_work_orders
from .revisions import (
    Revision,
    RevisionOutcome,
    StoredRouting,
    check_revision,
    has_started,
    note_erp_versions,
    record_erp_version,
    revise_work_order,
    revision_changes,
    stored_routings,
)
from .work_orders import (
    cancel_work_order,
    close_work_order,
    complete_work_order,
    hold_work_order,
    release_work_order,
    resume_work_order,
    start_work_order,
)

__all__ = [
    "machine_counts",
    "Counted",
    "counter_delta",
    "on_downtime",
    "open_due_downtimes",
    "record_counts",
    "report_state",
    "set_downtime_reason",
    "ShipmentSpec",
    "add_rework_operation",
    "lock_lot",
    "on_new_lot",
    "return_lot",
    "scrap_lot",
    "settle_status",
    "ship_lots",
    "ComponentSpec",
    "Consumption",
    "NewWorkOrder",
    "OperationSpec",
    "authorize",
    "cancel_work_order",
    "check_revision",
    "close_work_order",
    "complete_work_order",
    "confirm_operation",
    "create_work_order",
    "create_work_orders",
    "has_started",
    "note_erp_versions",
    "hold_work_order",
    "receive_lot",
    "record_erp_version",
    "release_work_order",
    "reproject_work_order",
    "reproject_work_orders",
    "resequence_work_center",
    "resume_work_order",
    "Revision",
    "RevisionOutcome",
    "revise_work_order",
    "revision_changes",
    "StoredRouting",
    "stored_routings",
    "save_calendar",
    "save_configuration",
    "save_master_record",
    "save_with_history",
    "start_operation",
    "start_work_order",
]
