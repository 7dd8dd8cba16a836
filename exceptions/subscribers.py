"""What this app does with outbox events: the routing rules, the live boards, and the clocks
of open tickets when their rules change."""

from mes.events import RULES
from mes.outbox import subscribers

from . import board, rules
from .services.escalation import reschedule_after

# The rule engine runs on raises, users' changes and resolutions (not on "exception.routed",
# which the rules themselves emit, so a rule never triggers itself). It locks tickets and work
# orders: one event per transaction, locks taken in the order a user's change takes them.
subscribers.register(
    "exceptions.rules",
    rules.on_exception_event,
    patterns=list(rules.TRIGGER_FOR_EVENT),
    audience=RULES,
    chunk=1,
)
# Live boards: every exception event, and a machine's downtime starting or ending (its strip
# of machine states), hints the site's open boards to refresh.
subscribers.register(
    board.SUBSCRIBER,
    board.on_exception_events,
    patterns=["exception.*", "machine.downtime_started", "machine.downtime_ended"],
    batch=True,
)
# An SLA or escalation policy or a site calendar changed: the open tickets they govern get
# new due times and next escalation.
subscribers.register(
    "exceptions.reschedule",
    reschedule_after,
    patterns=["sla_policy.changed", "escalation_policy.changed", "calendar.changed"],
    chunk=1,
)
