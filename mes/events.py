"""The event catalogue: every outbox event type, what its payload carries, who may subscribe,
and which service emits it.

:func:`mes.outbox.emit_event` refuses a type that is not here, and a payload with a field the
entry does not list or without one it requires. Each app declares its own types in its
``events`` module (this one holds the production core's); ``docs/events.md`` lists them all
and a test keeps it current. Audiences:

- ``erp``: ERP endpoints may subscribe to it (the endpoint form offers exactly these);
- ``notifications``: notification producers may listen to it;
- ``rules``: the routing rules run on it.

Subscribers of the app itself (live boards, projections, rescheduling) see every type.

Adding a type: register it in your app's ``events.py`` and emit it from a service named in
``emitted_by`` with the type as a literal string (``emit_event("lot.quarantined", ...)``).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from mes.registry import Registry

ERP = "erp"
NOTIFICATIONS = "notifications"
RULES = "rules"
AUDIENCES = (ERP, NOTIFICATIONS, RULES)


class UnknownEventType(LookupError):
    """A service emitted a type the catalogue does not list (a programming error)."""


class PayloadMismatch(ValueError):
    """A payload lacks a field its type requires, or carries one it does not list."""


@dataclass(frozen=True)
class EventType:
    """One catalogued event type."""

    name: str
    label: str
    fields: tuple[str, ...]
    emitted_by: tuple[str, ...]
    audiences: frozenset[str] = frozenset()
    optional: tuple[str, ...] = ()
    # For ERP endpoints: deliver only events whose payload has this field true.
    erp_only_if: str = ""
    description: str = ""

    def check_payload(self, payload: dict) -> None:
        keys = set(payload)
        missing = set(self.fields) - keys
        extra = keys - set(self.fields) - set(self.optional)
        if missing or extra:
            raise PayloadMismatch(
                f"{self.name}: payload "
                + "; ".join(
                    part
                    for part in (
                        f"lacks {', '.join(sorted(missing))}" if missing else "",
                        f"has uncatalogued {', '.join(sorted(extra))}" if extra else "",
                    )
                    if part
                )
            )


class Catalogue(Registry[EventType]):
    """The registry of event types: ``catalogue.register("x.y", label, fields=..., ...)``."""

    def build(self, key: str, value, **options) -> EventType:
        if isinstance(value, EventType):
            return value
        audiences = frozenset(options.pop("audiences", ()))
        unknown = audiences - set(AUDIENCES)
        if unknown:
            raise ValueError(f"{key}: unknown audiences {sorted(unknown)}")
        emitted_by = options.pop("emitted_by")
        if isinstance(emitted_by, str):
            emitted_by = (emitted_by,)
        return EventType(
            name=key,
            label=value,
            audiences=audiences,
            emitted_by=tuple(emitted_by),
            fields=tuple(options.pop("fields")),
            optional=tuple(options.pop("optional", ())),
            **options,
        )

    def event_type(self, name: str) -> EventType:
        entry = self.get(name)
        if entry is None:
            raise UnknownEventType(
                f"{name!r} is not in the event catalogue; register it in an app's events.py"
            )
        return entry

    def name_fields(self, name: str, fields: tuple[str, ...]) -> tuple[str, ...]:
        """Name a set of fields many types share (the docs write it once)."""
        self.field_sets[name] = tuple(fields)
        return tuple(fields)

    def for_audience(self, audience: str) -> list[EventType]:
        return [t for t in self.values() if audience in t.audiences]

    def erp_choices(self) -> list[tuple[str, str]]:
        """Types an ERP endpoint may subscribe to: catalogued for ERPs and emitted."""
        return [(t.name, str(t.label)) for t in self.for_audience(ERP) if t.emitted_by]


catalogue = Catalogue(
    "events",
    "Outbox event types: payload fields, audiences, the services that emit them.",
)
catalogue.field_sets = {}


def event(name: str, label, fields, emitted_by, *audiences: str, **options) -> EventType:
    """Catalogue one type (the short form the apps' ``events`` modules use)."""
    return catalogue.register(
        name, label, fields=fields, emitted_by=emitted_by, audiences=audiences, **options
    )


# --- the production core's events ---------------------------------------------------------

WORK_ORDER = catalogue.name_fields(
    "work order", ("work_order_id", "erp_number", "site", "item", "status")
)
TRANSITION = (*WORK_ORDER, "previous_status")
CONFIRMATION = (*WORK_ORDER, "confirmation_id", "sequence")
_MASTER = "mes.services.master.save_master_record"
_WO = "mes.services.work_orders"
_OPS = "mes.services.operations"

for _model in ("site", "workcenter", "machine", "item", "downtimereason"):
    for _verb in ("created", "changed"):
        event(f"{_model}.{_verb}", f"{_model} {_verb}", ("id", "code"), _MASTER)
event("lot.changed", _("Lot corrected"), ("id", "code"), _MASTER)
event(
    "lot.received",
    _("Lot received"),
    ("lot", "item", "quantity", "site"),
    "mes.services.master.receive_lot",
    ERP,
)
event(
    "work_order.created",
    _("Work order created"),
    (*WORK_ORDER, "planned_qty", "due_date", "operations"),
    "mes.services.create.create_work_orders",
)
event(
    "work_order.revised",
    _("Work order revised by the ERP"),
    (*WORK_ORDER, "changed", "planned_qty", "due_date", "erp_version"),
    "mes.services.revisions.revise_work_order",
)
event("work_order.released", _("Work order released"), WORK_ORDER, f"{_WO}.release_work_order")
event("work_order.started", _("Work order started"), TRANSITION, f"{_WO}.start_work_order")
event(
    "work_order.held",
    _("Work order held"),
    TRANSITION,
    f"{_WO}.hold_work_order",
    ERP,
    NOTIFICATIONS,
)
event(
    "work_order.resumed",
    _("Work order released from hold"),
    TRANSITION,
    f"{_WO}.resume_work_order",
    ERP,
    NOTIFICATIONS,
)
event(
    "work_order.completed",
    _("Work order completed"),
    (*TRANSITION, "good_qty", "scrap_qty"),
    f"{_WO}.complete_work_order",
    ERP,
)
event("work_order.closed", _("Work order closed"), TRANSITION, f"{_WO}.close_work_order")
event(
    "work_order.cancelled", _("Work order cancelled"), TRANSITION, f"{_WO}.cancel_work_order", ERP
)
event(
    "work_order.projection_moved",
    _("Projected completion moved (beyond tolerance)"),
    (*WORK_ORDER, "previous_projected_end", "projected_end", "moved_minutes", "due_date", "late"),
    "mes.services.projection.reproject_locked",
    ERP,
)
event(
    "operation.started",
    _("Operation started"),
    (*WORK_ORDER, "operation_id", "sequence", "work_center", "machine"),
    f"{_OPS}.start_operation",
)
event(
    "operation.confirmed",
    _("Operation confirmed (good, scrap, minutes, lots)"),
    (
        *CONFIRMATION,
        "operation_id",
        "operation_status",
        "good_qty",
        "scrap_qty",
        "labor_minutes",
        "machine_minutes",
        "final",
        "consumed",
        "produced_lot",
    ),
    f"{_OPS}.confirm_operation",
    ERP,
)
event(
    "material.consumed",
    _("Material consumed (lots and quantities)"),
    (*CONFIRMATION, "lots"),
    f"{_OPS}.confirm_operation",
    ERP,
)
event(
    "lot.produced",
    _("Lot produced (with the lots it was made from)"),
    (*CONFIRMATION, "lot", "quantity", "consumed"),
    f"{_OPS}.confirm_operation",
    ERP,
)
_LOTS = "mes.services.lots"
LOT_TAKEN = ("lot", "item", "site", "quantity", "unit", "remaining")
event(
    "lot.scrapped",
    _("Lot scrapped (part or all of it)"),
    LOT_TAKEN,
    f"{_LOTS}.scrap_lot",
    ERP,
)
event(
    "lot.returned",
    _("Lot returned to its supplier"),
    (*LOT_TAKEN, "supplier"),
    f"{_LOTS}.return_lot",
    ERP,
)
event(
    "shipment.shipped",
    _("Shipment to a customer (lots and quantities)"),
    ("shipment", "site", "customer", "shipped_at", "lines"),
    f"{_LOTS}.ship_lots",
    ERP,
)
event(
    "operation.added",
    _("Operation added to a work order (rework)"),
    (*TRANSITION, "operation_id", "sequence", "work_center", "quantity", "description", "lot"),
    f"{_LOTS}.add_rework_operation",
    ERP,
)
event(
    "work_center.resequenced",
    _("Work center queue resequenced"),
    ("work_center", "site", "previous", "order"),
    f"{_OPS}.resequence_work_center",
)
event(
    "calendar.changed",
    _("Site calendar changed (shifts, closed days)"),
    catalogue.name_fields("configuration", ("id", "label", "created", "changed", "previous")),
    "mes.services.config.save_calendar",
)
event(
    "account.changed",
    _("Account created or changed (roles, sites, active, password set)"),
    ("id", "username", "created", "active", "roles", "sites"),
    # save_account and password_set announce it through the one helper that names it
    ("mes.services.accounts._announce",),
)
event(
    "api_token.changed",
    _("API token created or revoked (never its key)"),
    ("id", "user", "name", "scope", "sites", "expires_at", "revoked"),
    "mes.services.tokens.create_token",
)
_MACHINES = "mes.services.machines"
DOWNTIME = (
    "site",
    "machine",
    "machine_id",
    "work_center",
    "downtime",
    "downtime_id",
    "state",
    "started_at",
    "ended_at",
    "work_order",
    "sequence",
    "reason_code",
)
event(
    "machine.downtime_started",
    _("Machine down long enough to be a downtime"),
    DOWNTIME,
    f"{_MACHINES}._open_due",
    ERP,
)
event(
    "machine.downtime_ended",
    _("Machine running again after a downtime"),
    DOWNTIME,
    f"{_MACHINES}._stop_ended",
    ERP,
)
event(
    "machine.downtime_reason_set",
    _("The floor said why a machine was down"),
    (*DOWNTIME, "reason_name", "planned"),
    f"{_MACHINES}.set_downtime_reason",
    ERP,
)
