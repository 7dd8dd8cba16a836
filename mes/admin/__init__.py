"""Django admin for the production core: the managers' tool, scoped to the sites a user may see.

Every admin here reads through ``Model.objects.visible_to(user)`` and writes through
:mod:`mes.services`: master data (sites, work centers, machines, items) is saved with
``save_master_record``; work orders change only through actions that call the transition
services; operations, lots, confirmations, consumptions and outbox events are read-only.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from . import (  # noqa: F401  (importing registers the model admins)
    calendars,
    machines,
    notifications,
    outbox,
    production,
    shipping,
    sites,
    tokens,
    users,
)

admin.site.site_header = _("Andon")
admin.site.site_title = _("Andon")
admin.site.index_title = _("Administration")
