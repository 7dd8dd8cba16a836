"""Master data (sites, work centers, machines, items) and received lots."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _

from mes.errors import DomainError, InvalidInput
from mes.models import (
    DowntimeReason,
    Item,
    Lot,
    Machine,
    Site,
    WorkCenter,
)
from mes.outbox import emit_event

from .base import (
    authorize,
    default_reason,
    run_new_lot_checks,
    save_with_history,
    to_decimal,
)

# --- master data ------------------------------------------------------------------------


def save_master_record(obj: Model, *, actor, reason: str = "") -> Model:
    """Create or update a site, work center, machine or item (or correct a lot): validated,
    with history and event."""
    # model -> (permission to change it, event when created, event when changed); a lot is
    # received (``receive_lot``), never created here: only corrected.
    perm, created_event, changed_event = {
        Site: ("mes.change_site", "site.created", "site.changed"),
        WorkCenter: ("mes.change_workcenter", "workcenter.created", "workcenter.changed"),
        Machine: ("mes.change_machine", "machine.created", "machine.changed"),
        Item: ("mes.change_item", "item.created", "item.changed"),
        DowntimeReason: (
            "mes.change_downtimereason",
            "downtimereason.created",
            "downtimereason.changed",
        ),
        Lot: ("mes.change_lot", None, "lot.changed"),
    }[type(obj)]
    model = type(obj)
    created = obj.pk is None
    event_type = created_event if created else changed_event
    if event_type is None:
        raise InvalidInput(_("A lot is received, not created here."), code="lot_not_received")
    if created:
        perm = perm.replace(".change_", ".add_")
    site = obj if isinstance(obj, Site) and not created else getattr(obj, "site", None)
    authorize(actor, perm, site if not created or not isinstance(obj, Site) else None)
    try:
        obj.full_clean()
    except ValidationError as exc:
        raise InvalidInput(_("Invalid record."), fields=exc.message_dict) from None
    with transaction.atomic():
        if not created:
            stored = model.objects.select_for_update().filter(pk=obj.pk).first()
            if isinstance(obj, Lot):
                _check_lot_correction(stored, obj)
        save_with_history(
            obj, actor=actor, reason=default_reason(reason, "created" if created else "changed")
        )
        emit_event(
            event_type,
            aggregate=obj,
            site=site if isinstance(site, Site) else None,
            actor=actor,
            reason=reason,
            payload={"id": obj.pk, "code": getattr(obj, "code", "")},
        )
    return obj


# What a lot's correction may not touch: its quantities and status move only with what
# happens to it (consumption, shipment, scrap, a quality hold), and its origin is a fact.
_LOT_FACTS = ("quantity", "held_qty", "status", "produced_by_id", "work_order_id", "site_id")


def _check_lot_correction(stored: Lot | None, lot: Lot) -> None:
    changed = [f for f in _LOT_FACTS if stored and getattr(stored, f) != getattr(lot, f)]
    if changed:
        raise DomainError(
            _("A lot's %(fields)s change only by consuming, shipping, scrapping or holding it.")
            % {"fields": ", ".join(changed)},
            code="lot_fact",
        )


def receive_lot(
    *,
    site: Site,
    number: str,
    item: Item,
    quantity,
    actor,
    supplier: str = "",
    certificate: str = "",
    received_at: datetime | None = None,
    reason: str = "",
) -> Lot:
    """Record a supplier lot arriving at a site."""
    authorize(actor, "mes.add_lot", site)
    qty = to_decimal(quantity, "quantity")
    with transaction.atomic():
        if Lot.objects.filter(site=site, number=number).exists():
            raise DomainError(_("Lot %(lot)s already exists.") % {"lot": number}, code="lot_exists")
        lot = Lot(
            site=site,
            number=number,
            item=item,
            quantity=qty,
            supplier=supplier,
            certificate=certificate or "",
            received_at=received_at or timezone.now(),
        )
        save_with_history(lot, actor=actor, reason=default_reason(reason, "received"))
        emit_event(
            "lot.received",
            aggregate=lot,
            site=site,
            actor=actor,
            reason=reason,
            payload={"lot": number, "item": item.code, "quantity": str(qty), "site": site.code},
        )
        # Holds on arrival (a lot without the certificate its item requires), in this
        # transaction: the lot is never free to use before they are placed.
        run_new_lot_checks(lot, actor=actor)
    return lot
