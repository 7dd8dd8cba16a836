"""ERP endpoints: where outcomes go, and who may speak for the ERP."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from mes.models import HistoryAuditFields, Site


class ErpEndpoint(models.Model):
    """One ERP that Andon talks to: its address and credentials, which events it receives and
    how each is shaped (``mapping``: event type -> JSON template). Edited in the admin."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    adapter = models.CharField(_("adapter"), max_length=40, default="rest")
    base_url = models.URLField(_("base URL"), blank=True)
    auth_header = models.CharField(
        _("auth header"), max_length=100, blank=True, default="Authorization"
    )
    auth_value = models.CharField(_("auth value"), max_length=500, blank=True)
    hmac_secret = models.CharField(_("HMAC secret"), max_length=200, blank=True)
    event_types = models.JSONField(_("events sent"), default=list, blank=True)
    mapping = models.JSONField(_("field mapping"), default=dict, blank=True)
    sites = models.ManyToManyField(Site, blank=True, related_name="+", verbose_name=_("sites"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("integration owner"),
    )
    max_attempts = models.PositiveSmallIntegerField(_("attempts before dead letter"), default=8)
    timeout_seconds = models.PositiveSmallIntegerField(_("timeout (s)"), default=10)
    is_active = models.BooleanField(_("active"), default=True)

    history = HistoricalRecords(bases=[HistoryAuditFields], excluded_fields=["auth_value"])

    class Meta:
        ordering = ["name"]
        verbose_name = _("ERP endpoint")
        verbose_name_plural = _("ERP endpoints")
        permissions = [
            ("ingest_erp", _("Can send orders and master data as the ERP")),
            ("read_erp_feed", _("Can read and acknowledge the ERP event feed")),
        ]

    def __str__(self) -> str:
        return self.name
