"""The spreadsheet imports' outbox event type (see :mod:`mes.events`)."""

from django.utils.translation import gettext_lazy as _

from mes.events import event

event(
    "legacy.imported",
    _("A spreadsheet was imported"),
    ("import_id", "kind", "site", "filename", "rows", "bad_rows"),
    "integrations.legacy.services.commit",
)
