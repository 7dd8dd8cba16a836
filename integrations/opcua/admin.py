"""OPC UA in the admin, no code: servers (secrets write-only, "test connection" browses the
server and lists what it found; the list shows whether the collector is connected), and
machines on a server with their state values and tags inline."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mes.admin.base import SITE_FILTER, ConfigAdmin, ScopedInline
from mes.admin.secrets import SecretField, SecretFormMixin

from . import services
from .models import MachineLink, MachineTag, OpcServer, StateValue


class OpcServerForm(SecretFormMixin, forms.ModelForm):
    SECRETS = services.SECRETS

    password = SecretField(label=_("password"), max_length=200, help_text=_("Write-only."))
    client_private_key = SecretField(
        label=_("client private key (PEM)"), max_length=10000, help_text=_("Write-only.")
    )

    class Meta:
        model = OpcServer
        fields = [
            "site",
            "name",
            "endpoint_url",
            "security_mode",
            "security_policy",
            "username",
            "password",
            "client_certificate",
            "client_private_key",
            "publishing_interval_ms",
            "is_active",
        ]


@admin.register(OpcServer)
class OpcServerAdmin(ConfigAdmin):
    form = OpcServerForm
    save_service = staticmethod(services.save_opcua_configuration)
    list_display = (
        "name",
        "site",
        "endpoint_url",
        "security_mode",
        "is_active",
        "connected",
        "last_seen",
        "reconnects",
        "last_error",
    )
    list_filter = (("site", SITE_FILTER), "is_active")
    list_select_related = ("site", "health")
    search_fields = ("name", "endpoint_url")
    actions = ("test_connection",)
    SECRETS = services.SECRETS

    def service_arguments(self, request, form) -> dict:
        return {"site": form.instance.site, "secrets": services.SECRETS}

    @admin.display(description=_("connected"), boolean=True)
    def connected(self, obj):
        health = getattr(obj, "health", None)
        return None if health is None else health.connected

    @admin.display(description=_("collector last seen"))
    def last_seen(self, obj):
        health = getattr(obj, "health", None)
        return health.seen_at if health else None

    @admin.display(description=_("reconnects"))
    def reconnects(self, obj):
        health = getattr(obj, "health", None)
        return health.reconnects if health else None

    @admin.display(description=_("last error"))
    def last_error(self, obj):
        health = getattr(obj, "health", None)
        return health.error if health else ""

    @admin.action(description=_("Test connection: browse the server"), permissions=["change"])
    def test_connection(self, request, queryset):
        for server in queryset[:5]:
            try:
                found = services.browse(server)
            except Exception as exc:  # noqa: BLE001 - whatever the server says, said back
                self.message_user(
                    request, f"{server.name}: {type(exc).__name__}: {exc}", messages.ERROR
                )
                continue
            lines = ", ".join(f"{path} ({node})" for path, node in found[:40])
            self.message_user(
                request,
                gettext("%(server)s: %(n)s variables found: %(list)s")
                % {"server": server.name, "n": len(found), "list": lines},
                messages.SUCCESS,
            )


class StateValueInline(ScopedInline):
    model = StateValue
    extra = 4


class MachineTagInline(ScopedInline):
    model = MachineTag
    extra = 3
    fields = ("role", "node_id", "browse_path", "namespace_uri", "last_value", "lag")
    readonly_fields = ("last_value", "lag")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("health")

    @admin.display(description=_("last value"))
    def last_value(self, obj):
        health = getattr(obj, "health", None) if obj.pk else None
        if health is None:
            return "—"
        return (
            f"{health.value} @ {health.source_time:%Y-%m-%d %H:%M:%S}"
            if health.source_time
            else health.value
        )

    @admin.display(description=_("lag (ms)"))
    def lag(self, obj):
        health = getattr(obj, "health", None) if obj.pk else None
        return "—" if health is None or health.lag_ms is None else health.lag_ms


@admin.register(MachineLink)
class MachineLinkAdmin(ConfigAdmin):
    save_service = staticmethod(services.save_opcua_configuration)
    inlines = (StateValueInline, MachineTagInline)
    list_display = ("machine", "server", "counter_bits", "is_active")
    list_filter = ("server", "is_active")
    list_select_related = ("machine", "server")
    search_fields = ("machine__code", "server__name")

    def service_arguments(self, request, form) -> dict:
        return {"site": form.instance.machine.site if form.instance.machine_id else None}
