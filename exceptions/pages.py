"""The exception links and buttons this app adds to the core's pages (``mes.pages.slots``)."""

from mes.pages import slots

for slot, template in [
    ("nav", "exceptions/slots/nav.html"),
    ("site.actions", "exceptions/slots/site_actions.html"),
    ("operation.actions", "exceptions/slots/operation_actions.html"),
    ("work_center.actions", "exceptions/slots/work_center_actions.html"),
    ("work_order.row_actions", "exceptions/slots/work_order_row_actions.html"),
    ("work_order.actions", "exceptions/slots/work_order_actions.html"),
]:
    slots.register(slot, template)
