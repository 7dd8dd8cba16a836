"""OPC UA configuration, all of it in the admin: the servers a plant's machines sit behind,
which machine each server serves (its counters' width, the debounce is the machine's own),
what each raw state value means, and the tags to read, by node id or by browse path under a
namespace URI. Health rows say what the collector last saw."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from mes.models import HistoryAuditFields, Machine, MachineState, Site, SiteScopedQuerySet


class OpcServer(models.Model):
    site_path = "site"

    class SecurityMode(models.TextChoices):
        NONE = "None", _("None")
        SIGN = "Sign", _("Sign")
        SIGN_AND_ENCRYPT = "SignAndEncrypt", _("Sign and encrypt")

    class SecurityPolicy(models.TextChoices):
        NONE = "None", _("None")
        BASIC256SHA256 = "Basic256Sha256", "Basic256Sha256"
        AES128 = "Aes128Sha256RsaOaep", "Aes128Sha256RsaOaep"
        AES256 = "Aes256Sha256RsaPss", "Aes256Sha256RsaPss"

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="opc_servers")
    name = models.CharField(_("name"), max_length=100)
    endpoint_url = models.CharField(
        _("endpoint URL"), max_length=300, help_text=_("opc.tcp://host:4840/path")
    )
    security_mode = models.CharField(
        _("security mode"), max_length=20, choices=SecurityMode.choices, default="None"
    )
    security_policy = models.CharField(
        _("security policy"), max_length=30, choices=SecurityPolicy.choices, default="None"
    )
    username = models.CharField(
        _("user name"), max_length=100, blank=True, help_text=_("Empty: anonymous.")
    )
    password = models.CharField(_("password"), max_length=200, blank=True)  # write-only
    client_certificate = models.TextField(_("client certificate (PEM)"), blank=True)
    client_private_key = models.TextField(_("client private key (PEM)"), blank=True)  # secret
    publishing_interval_ms = models.PositiveIntegerField(_("publishing interval (ms)"), default=500)
    is_active = models.BooleanField(_("active"), default=True)

    objects = SiteScopedQuerySet.as_manager()
    history = HistoricalRecords(
        bases=[HistoryAuditFields], excluded_fields=["password", "client_private_key"]
    )

    class Meta:
        ordering = ["site__code", "name"]
        verbose_name = _("OPC UA server")
        verbose_name_plural = _("OPC UA servers")

    def __str__(self) -> str:
        return f"{self.name} ({self.endpoint_url})"

    def clean(self) -> None:
        if not self.endpoint_url.startswith("opc.tcp://"):
            raise ValidationError({"endpoint_url": _("An OPC UA address starts opc.tcp://")})
        secure = self.security_mode != self.SecurityMode.NONE
        if secure != (self.security_policy != self.SecurityPolicy.NONE):
            raise ValidationError(
                {"security_policy": _("Signing needs a policy, and a policy needs signing.")}
            )
        if secure and not (self.client_certificate and self.client_private_key):
            raise ValidationError(
                {"client_certificate": _("A secure connection needs a client certificate.")}
            )


class MachineLink(models.Model):
    """A machine read from a server: how wide its counters are, and its tags and states."""

    site_path = "machine__site"

    machine = models.OneToOneField(Machine, on_delete=models.CASCADE, related_name="opc_link")
    server = models.ForeignKey(OpcServer, on_delete=models.CASCADE, related_name="machines")
    counter_bits = models.PositiveSmallIntegerField(
        _("counter bits"), choices=[(16, "16"), (32, "32")], default=16
    )
    is_active = models.BooleanField(_("active"), default=True)

    objects = SiteScopedQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields])

    class Meta:
        ordering = ["server", "machine__code"]
        verbose_name = _("machine on OPC UA")
        verbose_name_plural = _("machines on OPC UA")

    def __str__(self) -> str:
        return f"{self.machine.code} @ {self.server.name}"

    def clean(self) -> None:
        if self.machine_id and self.server_id and self.machine.site_id != self.server.site_id:
            raise ValidationError({"server": _("The server serves another site.")})


class StateValue(models.Model):
    """What one raw value of the state tag means (0 -> stopped, 1 -> running...)."""

    site_path = "link__machine__site"

    link = models.ForeignKey(MachineLink, on_delete=models.CASCADE, related_name="states")
    value = models.IntegerField(_("raw value"))
    state = models.CharField(_("state"), max_length=10, choices=MachineState.choices)

    objects = SiteScopedQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields])

    class Meta:
        ordering = ["link", "value"]
        verbose_name = _("state value")
        verbose_name_plural = _("state values")
        constraints = [models.UniqueConstraint(fields=["link", "value"], name="one_meaning")]

    def __str__(self) -> str:
        return f"{self.value} -> {self.state}"


class MachineTag(models.Model):
    """One value to read: by node id (``ns=2;i=17``, ``ns=2;s=Press1.State``) or by browse
    path from Objects (``Press1/State``) under ``namespace_uri`` (indexes change between
    server restarts; URIs do not)."""

    site_path = "link__machine__site"

    class Role(models.TextChoices):
        STATE = "state", _("State")
        GOOD = "good", _("Good count")
        SCRAP = "scrap", _("Scrap count")
        SPEED = "speed", _("Speed")
        ALARM = "alarm", _("Alarm")

    link = models.ForeignKey(MachineLink, on_delete=models.CASCADE, related_name="tags")
    role = models.CharField(_("role"), max_length=10, choices=Role.choices)
    node_id = models.CharField(_("node id"), max_length=300, blank=True)
    browse_path = models.CharField(
        _("browse path"), max_length=500, blank=True, help_text=_("From Objects: Press1/State")
    )
    namespace_uri = models.CharField(_("namespace URI"), max_length=300, blank=True)

    objects = SiteScopedQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields])

    class Meta:
        ordering = ["link", "role"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        constraints = [models.UniqueConstraint(fields=["link", "role"], name="one_tag_per_role")]

    def __str__(self) -> str:
        return f"{self.link.machine.code} {self.role}: {self.node_id or self.browse_path}"

    def clean(self) -> None:
        if bool(self.node_id) == bool(self.browse_path):
            raise ValidationError(_("Give a node id or a browse path, one of them."))
        if self.browse_path and not self.namespace_uri:
            raise ValidationError({"namespace_uri": _("A browse path needs its namespace URI.")})


class TagHealth(models.Model):
    """The collector's last reading of a tag (not history: overwritten in place)."""

    site_path = "tag__link__machine__site"

    tag = models.OneToOneField(MachineTag, on_delete=models.CASCADE, related_name="health")
    value = models.CharField(max_length=100, blank=True)
    source_time = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    lag_ms = models.IntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)

    objects = SiteScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("tag health")
        verbose_name_plural = _("tag health")

    def __str__(self) -> str:
        return f"{self.tag}: {self.value}"


class ServerHealth(models.Model):
    site_path = "server__site"

    server = models.OneToOneField(OpcServer, on_delete=models.CASCADE, related_name="health")
    connected = models.BooleanField(default=False)
    connected_at = models.DateTimeField(null=True, blank=True)
    seen_at = models.DateTimeField(null=True, blank=True)
    reconnects = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)

    objects = SiteScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("server health")
        verbose_name_plural = _("server health")

    def __str__(self) -> str:
        return f"{self.server}: {'up' if self.connected else 'down'}"
