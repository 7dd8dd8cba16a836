"""ERP endpoints: where outcomes go, and who may speak for the ERP."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from mes.models import (
    ChainedEntry,
    HistoryAuditFields,
    OutboxEvent,
    Site,
    SiteScopedQuerySet,
    WorkOrder,
)
from mes.models.access import visible_site_ids

from .destinations import UnsafeDestination, check_destination

MAX_TIMEOUT_SECONDS = 60  # the form's limit; the setting caps every call


class ErpEndpointQuerySet(SiteScopedQuerySet):
    def visible_to(self, user):
        """An endpoint serves the sites it names (none: none): whoever may see one of them
        sees it (its deliveries of their sites, its reconciliation)."""
        visible = visible_site_ids(user)
        if not visible:
            return self.none()
        return self.filter(pk__in=self.filter(sites__in=visible).values("pk"))

    def manageable_by(self, user):
        """Endpoints every site of which the user may see: only those may they change."""
        visible = visible_site_ids(user)
        return self.visible_to(user).exclude(sites__in=Site.objects.exclude(pk__in=visible))


class ErpEndpoint(models.Model):
    """One ERP that Andon talks to: its address and credentials, which events it receives and
    how each is shaped (``mapping``: event type -> JSON template). Edited in the admin."""

    site_path = "sites"

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
    sites = models.ManyToManyField(
        Site,
        related_name="+",
        verbose_name=_("sites"),
        help_text=_("The sites whose events this ERP receives (and only those)."),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("integration owner"),
    )
    max_attempts = models.PositiveSmallIntegerField(_("attempts before dead letter"), default=8)
    timeout_seconds = models.PositiveSmallIntegerField(
        _("timeout (s)"),
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_TIMEOUT_SECONDS)],
        help_text=_("At most %(s)s seconds (ERP_TIMEOUT_MAX_SECONDS may lower it).")
        % {"s": MAX_TIMEOUT_SECONDS},
    )

    is_active = models.BooleanField(_("active"), default=True)
    # The account the ERP acts as: the pull feed's reader (GET /api/v1/erp/events/ with its
    # token), and the one a polling adapter (Tryton) imports orders as.
    account = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="erp_endpoint",
        verbose_name=_("ERP account"),
        help_text=_(
            "Pull feed: the account that reads and acknowledges it. Tryton: the account orders "
            "are imported as (role erp_integration, with the sites it feeds)."
        ),
    )
    feed_acknowledged = models.BigIntegerField(_("feed acknowledged up to"), default=0)
    options = models.JSONField(
        _("adapter options"),
        default=dict,
        blank=True,
        help_text=_("Settings of the adapter, e.g. Tryton: warehouses to sites, routing."),
    )
    synced_at = models.DateTimeField(_("last sync"), null=True, blank=True)
    synced_ok_at = models.DateTimeField(_("last successful sync"), null=True, blank=True)
    sync_summary = models.JSONField(_("last sync result"), default=dict, blank=True)

    objects = ErpEndpointQuerySet.as_manager()
    # Secrets never reach the history (nor pages, events or logs): that they changed does.
    history = HistoricalRecords(
        bases=[HistoryAuditFields],
        excluded_fields=["auth_value", "hmac_secret", "synced_at", "synced_ok_at", "sync_summary"],
        m2m_fields=["sites"],
        m2m_bases=[ChainedEntry],
    )

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

    def call_timeout(self) -> float:
        """The timeout a call uses: the endpoint's, within ``ANDON_ERP_TIMEOUT_MAX``."""
        return float(max(1, min(self.timeout_seconds or 1, settings.ANDON_ERP_TIMEOUT_MAX)))

    def clean(self) -> None:
        if self.base_url:
            try:
                check_destination(self.base_url)
            except UnsafeDestination as exc:
                raise ValidationError({"base_url": str(exc)}) from None


class ErpDelivery(models.Model):
    """One outbox event on its way to one endpoint: attempts, the ERP's answer, and when it
    acknowledged (the end of the event's "time to ERP"). Visible with its event's site."""

    site_path = "event__site"

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        DEAD = "dead", _("Dead letter")

    endpoint = models.ForeignKey(ErpEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(OutboxEvent, on_delete=models.PROTECT, related_name="+")
    # Events of one work order reach an endpoint in the order they happened.
    work_order = models.ForeignKey(
        WorkOrder, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    last_status = models.PositiveSmallIntegerField(_("last HTTP status"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    response_body = models.TextField(_("ERP answer"), blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(_("acknowledged by the ERP"), null=True, blank=True)
    # Pull adapter: the delivery's place in the endpoint's feed (the cursor), given when the
    # ERP first reads past it; never reused.
    feed_position = models.BigIntegerField(_("feed cursor"), null=True, blank=True)

    objects = SiteScopedQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields], excluded_fields=["response_body"])

    class Meta:
        ordering = ["pk"]
        verbose_name = _("ERP delivery")
        verbose_name_plural = _("ERP deliveries")
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="erp_delivery_once"),
            models.UniqueConstraint(
                fields=["endpoint", "feed_position"], name="erp_delivery_feed_position"
            ),
        ]
        indexes = [
            models.Index(
                fields=["endpoint", "next_attempt_at"],
                name="erp_delivery_due",
                condition=models.Q(status="pending"),
            ),
            models.Index(
                fields=["endpoint", "work_order", "id"],
                name="erp_delivery_chain",
                condition=models.Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.endpoint} ← {self.event.type} #{self.event_id}"

    @property
    def time_to_erp(self):
        if self.acknowledged_at is None:
            return None
        return self.acknowledged_at - self.event.occurred_at
