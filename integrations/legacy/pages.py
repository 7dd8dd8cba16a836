"""The link the imports add to the core's pages (``mes.pages.slots``)."""

from mes.pages import slots

slots.register("site.actions", "legacy/slots/site_actions.html")
