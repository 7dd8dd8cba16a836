"""Admin of the ERP integration: endpoints (low-code mapping) and deliveries (dead letters,
retry and replay)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from mes.admin.base import ConfigAdmin, ScopedAdminMixin, ask_reason
from mes.admin.secrets import SecretField, SecretFormMixin
from mes.events import catalogue

from . import outbound
from .models import ErpDelivery, ErpEndpoint
from .services import SECRETS, save_endpoint


class ErpEndpointForm(SecretFormMixin, forms.ModelForm):
    SECRETS = SECRETS

    auth_value = SecretField(
        label=_("auth value"),
        max_length=500,
        help_text=_("Sent in the auth header. Write-only: never shown once saved."),
    )
    hmac_secret = SecretField(
        label=_("HMAC secret"),
        max_length=200,
        help_text=_(
            "Signs every request: X-Andon-Signature: t=UNIX-TIME,v1=HEX-DIGEST (HMAC-SHA256 "
            "of the time, a dot and the body). Write-only: never shown once saved."
        ),
    )
    adapter = forms.ChoiceField(label=_("adapter"), choices=outbound.adapter_choices)
    base_url = forms.URLField(label=_("base URL"), required=False, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        label=_("events sent"),
        choices=catalogue.erp_choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = ErpEndpoint
        fields = [
            "name",
            "adapter",
            "base_url",
            "auth_header",
            "auth_value",
            "hmac_secret",
            "event_types",
            "mapping",
            "sites",
            "owner",
            "account",
            "options",
            "max_attempts",
            "timeout_seconds",
            "is_active",
        ]
        help_texts = {
            "mapping": _(
                'Per event type, the JSON the ERP receives: {"operation.confirmed": '
                '{"order": "{{ payload.erp_number }}", "good": "{{ payload.good_qty }}"}}. '
                '"{{ path }}" takes the value at path in the event (event.id, event.type, '
                "event.occurred_at, event.site, payload.…). A type without a template gets "
                "the event as it is."
            ),
        }

    viewer = None  # the user the form is for (set by the admin's get_form)

    def clean_account(self):
        """One endpoint per account: say which endpoint holds it (when the user sees that
        endpoint) and what to do."""
        account = self.cleaned_data.get("account")
        if account is None:
            return account
        holder = ErpEndpoint.objects.filter(account=account).exclude(pk=self.instance.pk).first()
        if holder is not None:
            seen = self.viewer is not None and (
                ErpEndpoint.objects.visible_to(self.viewer).filter(pk=holder.pk).exists()
            )
            where = (
                _("the endpoint “%(name)s”") % {"name": holder.name}
                if seen
                else _("an endpoint of another site")
            )
            raise forms.ValidationError(
                _(
                    "%(account)s is already the account of %(where)s: an account serves one "
                    "endpoint. Make another account with the role erp_integration and this "
                    "endpoint's sites."
                )
                % {"account": account.get_username(), "where": where}
            )
        return account

    @staticmethod
    def _option_errors(adapter, data) -> list[str]:
        """The adapter's checks, once the warehouses map only to the sites chosen for the
        endpoint (which are the editor's): the checks never look at another site."""
        options = data.get("options")
        warehouses = options.get("warehouses") if isinstance(options, dict) else None
        chosen = {site.code for site in data.get("sites") or []}
        if isinstance(warehouses, dict):
            outside = sorted({str(code) for code in warehouses.values()} - chosen)
            if outside:
                return [
                    _("Warehouses must map to the endpoint's sites, not: %(codes)s.")
                    % {"codes": ", ".join(outside)}
                ]
        return adapter.option_errors(options)

    def clean_mapping(self):
        mapping = self.cleaned_data.get("mapping") or {}
        if not isinstance(mapping, dict):
            raise forms.ValidationError(_("The mapping is a JSON object keyed by event type."))
        offered = {name for name, _label in catalogue.erp_choices()}
        unknown = [key for key in mapping if key not in offered]
        if unknown:
            raise forms.ValidationError(
                _("Unknown event types: %(types)s.") % {"types": ", ".join(unknown)}
            )
        return mapping

    def clean(self):
        data = super().clean()
        if data.get("adapter") == "rest" and data.get("is_active") and not data.get("base_url"):
            self.add_error("base_url", _("The REST adapter needs the ERP's URL."))
        if data.get("adapter") == "pull" and not data.get("account"):
            self.add_error("account", _("A pull feed needs the account that reads it."))
        adapter = outbound.adapters.get(data.get("adapter"))
        if hasattr(adapter, "sync"):
            if not data.get("base_url"):
                self.add_error("base_url", _("The adapter needs the ERP's URL."))
            if not data.get("account"):
                self.add_error("account", _("Orders are imported as this account."))
            if not data.get("auth_value"):
                self.add_error("auth_value", _("The ERP's API key."))
            for problem in self._option_errors(adapter, data):
                self.add_error("options", problem)
        supported = getattr(adapter, "event_types", None)
        if supported is not None:
            extra = set(data.get("event_types") or []) - set(supported)
            if extra:
                self.add_error(
                    "event_types",
                    _("This adapter sends only: %(types)s.") % {"types": ", ".join(supported)},
                )
        return data


@admin.register(ErpEndpoint)
class ErpEndpointAdmin(ConfigAdmin):
    """Endpoints, saved by :func:`integrations.erp.services.save_endpoint`."""

    form = ErpEndpointForm
    save_service = staticmethod(save_endpoint)
    list_display = ("name", "adapter", "base_url", "is_active", "owner", "sync_state")
    list_filter = ("adapter", "is_active")
    search_fields = ("name", "base_url")
    filter_horizontal = ("sites",)
    readonly_fields = ("feed_acknowledged", "synced_at", "synced_ok_at", "sync_summary")
    actions = ("sync_now",)

    SECRETS = SECRETS

    change_form_template = "admin/erp/erpendpoint/change_form.html"

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        return type(form.__name__, (form,), {"viewer": request.user})

    def get_urls(self):
        from django.urls import path

        sync = self.admin_site.admin_view(self.sync_view)
        return [
            path("<path:object_id>/sync/", sync, name="erp_erpendpoint_sync"),
            *super().get_urls(),
        ]

    def sync_view(self, request, object_id):
        """ "Sync now" on the endpoint's own page: the list action, for this one endpoint."""
        from django.http import HttpResponseNotAllowed, HttpResponseRedirect
        from django.urls import reverse

        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        endpoint = self._get_visible(request, object_id)
        if not self.has_change_permission(request, endpoint):
            raise PermissionDenied
        self.sync_now(request, ErpEndpoint.objects.filter(pk=endpoint.pk))
        return HttpResponseRedirect(reverse("admin:erp_erpendpoint_change", args=[endpoint.pk]))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["can_sync"] = (
            obj is not None
            and obj.is_active
            and outbound.polls(obj)
            and self.has_change_permission(request, obj)
        )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def m2m_callbacks(self, request, form, change) -> list:
        return []  # its one many-to-many, the sites, the service sets and checks

    def service_arguments(self, request, form) -> dict:
        return {"sites": form.cleaned_data.get("sites")}

    def has_change_permission(self, request, obj=None):
        # Read by whoever sees one of its sites; changed only by who sees all of them.
        if obj is not None and not self._manageable(request, obj):
            return False
        return super().has_change_permission(request, obj)

    @staticmethod
    def _manageable(request, endpoint) -> bool:
        return ErpEndpoint.objects.manageable_by(request.user).filter(pk=endpoint.pk).exists()

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if obj is not None and not self.has_change_permission(request, obj):
            # Read-only: a secret is never shown, only whether it is set; nor the last sync's
            # summary, which names orders of every site the endpoint serves.
            fields = [f"{f}_set" if f in self.SECRETS else f for f in fields]
            fields = [f for f in fields if f != "sync_summary"]
        return fields

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and not self.has_change_permission(request, obj):
            fields += [f"{f}_set" for f in self.SECRETS]
        return fields

    @admin.display(description=_("import"))
    def sync_state(self, obj):
        """Whether the import works: "failing since …" (with the cause on the page), the
        last successful sync, or nothing for an adapter that does not import."""
        if not outbound.polls(obj):
            return "-"
        summary = obj.sync_summary or {}
        if "error" in summary:
            since = parse_datetime(summary.get("failing_since") or "")
            when = date_format(timezone.localtime(since), "SHORT_DATETIME_FORMAT") if since else ""
            return gettext("failing since %(t)s") % {"t": when}
        if obj.synced_ok_at is None:
            return gettext("never synced")
        return gettext("ok, %(t)s") % {
            "t": date_format(timezone.localtime(obj.synced_ok_at), "SHORT_DATETIME_FORMAT")
        }

    @admin.display(description=_("auth value"))
    def auth_value_set(self, obj):
        return gettext("set (hidden)") if obj.auth_value else "-"

    @admin.display(description=_("HMAC secret"))
    def hmac_secret_set(self, obj):
        return gettext("set (hidden)") if obj.hmac_secret else "-"

    @admin.action(description=_("Sync now: import orders from the ERP"), permissions=["change"])
    def sync_now(self, request, queryset):
        for endpoint in queryset:
            if not self._manageable(request, endpoint):
                self.message_user(
                    request,
                    gettext("%(endpoint)s also serves sites you do not manage.")
                    % {"endpoint": endpoint},
                    messages.ERROR,
                )
                continue
            if not endpoint.is_active:
                self.message_user(
                    request,
                    gettext("%(endpoint)s is not active.") % {"endpoint": endpoint},
                    messages.WARNING,
                )
                continue
            if not outbound.polls(endpoint):
                self.message_user(
                    request,
                    gettext("%(endpoint)s does not import orders.") % {"endpoint": endpoint},
                    messages.WARNING,
                )
                continue
            try:
                summary = outbound.sync_now(endpoint)
            except outbound.SyncFailed as exc:
                self.message_user(
                    request,
                    gettext("%(endpoint)s: sync failed: %(error)s")
                    % {"endpoint": endpoint, "error": exc},
                    messages.ERROR,
                )
                continue
            counts = ", ".join(
                f"{key} {value}" for key, value in summary.items() if isinstance(value, int)
            )
            self.message_user(
                request,
                gettext("%(endpoint)s synced: %(counts)s.")
                % {"endpoint": endpoint, "counts": counts},
                messages.WARNING if summary.get("problems") else messages.SUCCESS,
            )


@admin.register(ErpDelivery)
class ErpDeliveryAdmin(ScopedAdminMixin, SimpleHistoryAdmin):
    """Every event on its way to an ERP; dead letters are retried or replayed from here."""

    list_display = (
        "event_type",
        "endpoint",
        "work_order",
        "status",
        "attempts",
        "last_status",
        "next_attempt_at",
        "acknowledged_at",
    )
    list_filter = ("status", ("endpoint", admin.RelatedOnlyFieldListFilter), "event__type")
    search_fields = ("work_order__erp_number", "event__event_id", "last_error")
    list_select_related = ("endpoint", "event", "work_order")
    readonly_fields = [f.name for f in ErpDelivery._meta.fields]
    actions = ("retry", "replay")

    @admin.display(description=_("event"), ordering="event__type")
    def event_type(self, obj):
        return obj.event.type

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # The list's retry and replay need it; one delivery is never edited.
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

    def _redeliver(self, request, queryset, *, statuses, action, title, done):
        def then(reason: str) -> None:
            count = 0
            for delivery in queryset:
                if delivery.status not in statuses:
                    self.message_user(
                        request,
                        gettext("%(delivery)s is %(status)s: left as it is.")
                        % {"delivery": delivery, "status": delivery.get_status_display()},
                        messages.WARNING,
                    )
                    continue
                outbound.redeliver(delivery, actor=request.user, reason=reason)
                count += 1
            if count:
                self.message_user(request, done(count) % {"count": count}, messages.SUCCESS)

        return ask_reason(
            self,
            request,
            queryset,
            action=action,
            title=title,
            note=gettext(
                "The same event is sent again with the same Idempotency-Key; the reason is "
                "recorded in each delivery's history."
            ),
            then=then,
        )

    @admin.action(description=_("Retry selected dead letters…"), permissions=["change"])
    def retry(self, request, queryset):
        return self._redeliver(
            request,
            queryset,
            statuses={ErpDelivery.Status.DEAD},
            action="retry",
            title=gettext("Retry dead letters"),
            done=lambda n: ngettext(
                "%(count)d delivery queued.", "%(count)d deliveries queued.", n
            ),
        )

    @admin.action(description=_("Replay selected deliveries…"), permissions=["change"])
    def replay(self, request, queryset):
        return self._redeliver(
            request,
            queryset,
            statuses={ErpDelivery.Status.DELIVERED, ErpDelivery.Status.DEAD},
            action="replay",
            title=gettext("Replay deliveries"),
            done=lambda n: ngettext(
                "%(count)d delivery queued.", "%(count)d deliveries queued.", n
            ),
        )
