"""What this app does with outbox events: the routing rules and the live boards."""

from mes.events import RULES
from mes.outbox import subscribers

from . import board, rules

# The rule engine runs on raises, users' changes and resolutions (not on "exception.routed",
# which the rules themselves emit, so a rule never triggers itself).
subscribers.register(
    "exceptions.rules",
    rules.on_exception_event,
    patterns=list(rules.TRIGGER_FOR_EVENT),
    audience=RULES,
)
# Live boards: every exception event hints the site's open boards to refresh.
subscribers.register(board.SUBSCRIBER, board.on_exception_event, patterns=["exception.*"])
