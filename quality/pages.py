"""The links quality adds to the core's pages (``mes.pages.slots``)."""

from mes.pages import slots

for slot, template in [
    ("nav", "quality/slots/nav.html"),
    ("operation.actions", "quality/slots/operation_actions.html"),
]:
    slots.register(slot, template)
