"""The ERP integration's notification kinds: an endpoint's owner hears of a dead letter, and
of an import that starts failing (once per streak of failures)."""

from django.utils.translation import gettext_lazy as _

from mes.notifications import kinds

kinds.register("erp_dead_letter", _("ERP delivery failed"))
kinds.register("erp_sync_failed", _("ERP import failing"))
