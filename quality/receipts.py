"""Lots that arrive without the certificate their item requires are held until quality
releases them (run by ``mes.services.receive_lot`` inside its transaction)."""

from django.utils.translation import gettext as _

from .services import place_hold


def hold_without_certificate(lot, *, actor) -> None:
    if lot.certificate_missing and lot.quantity > 0:
        place_hold(
            scope="lot",
            lot=lot,
            actor=None,  # the system holds it; the receiver need not be allowed to
            reason=_("Received without the certificate %(item)s requires")
            % {"item": lot.item.code},
        )
