"""Quality's rule action: "place quality hold" on what a ticket names (its lot, else its
operation, else its work order). The inspection path uses it; managers may add it to any
exception type's rules."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from exceptions.choices import EventKind
from exceptions.rule_registry import actions
from exceptions.services import note_rule_effect
from mes.errors import DomainError

from .models import QualityHold
from .services import place_hold


@actions.register("place_quality_hold", label=gettext_lazy("Place a quality hold"))
def place_quality_hold(ticket, rule, params):
    if QualityHold.objects.filter(ticket=ticket).exists():
        return None  # once per ticket, however many rules or re-runs ask
    if ticket.lot_id:
        target = {"scope": "lot", "lot": ticket.lot}
    elif ticket.operation_id:
        target = {"scope": "operation", "operation": ticket.operation}
    elif ticket.work_order_id:
        target = {"scope": "work_order", "work_order": ticket.work_order}
    else:
        return None
    nc = ticket.nonconformances.order_by("pk").first()
    try:
        hold = place_hold(
            **target,
            actor=None,
            reason=f"{ticket.number}: {rule.name}",
            ticket=ticket,
            nonconformance=nc,
        )
    except DomainError as exc:
        if exc.code == "nothing_to_hold":
            return None
        raise
    note_rule_effect(
        ticket,
        rule=rule,
        kind=EventKind.QUALITY_HELD,
        event_type="exception.quality_held",
        message=hold.number,
        hold=hold.number,
    )
    return _("placed %(hold)s") % {"hold": hold.number}
