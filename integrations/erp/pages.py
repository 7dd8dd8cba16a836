"""The ERP integration's link on the core's home page (``mes.pages.slots``)."""

from mes.pages import slots

slots.register("home.links", "erp/slots/home_links.html")
