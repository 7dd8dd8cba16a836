"""Holds on a lot as it is created (run by ``mes.services.on_new_lot`` inside the
transaction that creates it, so the lot is never free before they are placed): a supplier lot
without the certificate its item requires, and any lot of an item on hold at its site."""

from django.utils.translation import gettext as _

from .services import extend_item_holds, place_hold


def hold_without_certificate(lot, *, actor) -> None:
    if lot.produced_by_id is None and lot.certificate_missing and lot.quantity > 0:
        place_hold(
            scope="lot",
            lot=lot,
            actor=None,  # the system holds it; the receiver need not be allowed to
            reason=_("Received without the certificate %(item)s requires")
            % {"item": lot.item.code},
        )


def hold_under_item_hold(lot, *, actor) -> None:
    if lot.quantity > 0:
        extend_item_holds(lot, actor=None)  # the system holds it, as above
