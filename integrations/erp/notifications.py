"""The ERP integration's notification kind: its owner hears of a dead letter."""

from django.utils.translation import gettext_lazy as _

from mes.notifications import kinds

kinds.register("erp_dead_letter", _("ERP delivery failed"))
