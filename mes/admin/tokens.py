"""API tokens in the admin: a manager sees and revokes the tokens of the accounts they manage
(and their own), and makes their own and those of the service accounts they manage (a
person's token made by a manager would let the manager act as that person); the key is shown
once, in the message after "Save". Tokens are never
edited or deleted: a wrong one is revoked and another made."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AdminSplitDateTime
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from mes.errors import DomainError
from mes.models import ApiToken, Site
from mes.services.accounts import accounts_manageable_by
from mes.services.tokens import (
    create_token,
    max_token_days,
    revoke_token,
    tokens_manageable_by,
)

from .base import REASON_FIELD, ScopedAdminMixin, _Refused, admin_reason, with_reason_field


class NewTokenForm(forms.ModelForm):
    expires_at = forms.SplitDateTimeField(label=_("expires"), widget=AdminSplitDateTime)

    class Meta:
        model = ApiToken
        fields = ["user", "name", "access", "expires_at", "sites"]

    def __init__(self, *args, actor=None, **kwargs):
        super().__init__(*args, **kwargs)
        users = get_user_model().objects.filter(is_active=True)
        if not actor.is_superuser:  # its own, and the service accounts it manages
            services = accounts_manageable_by(actor).filter(account_profile__kind="service")
            users = users.filter(Q(pk=actor.pk) | Q(pk__in=services))
        self.fields["user"].queryset = users.order_by("username")
        self.fields["user"].initial = actor.pk
        self.fields["sites"].queryset = Site.objects.visible_to(actor).order_by("code")
        self.fields["sites"].widget = forms.CheckboxSelectMultiple()
        self.fields["sites"].required = False
        self.fields["expires_at"].initial = timezone.now() + timedelta(days=max_token_days())
        self.fields["expires_at"].help_text = gettext("At most %(days)s days from now.") % {
            "days": max_token_days()
        }


@admin.register(ApiToken)
class ApiTokenAdmin(ScopedAdminMixin, SimpleHistoryAdmin):
    list_display = [
        "name",
        "user",
        "prefix",
        "access",
        "state",
        "expires_at",
        "last_used_at",
        "last_used_from",
    ]
    list_filter = ["access", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "user__username", "prefix"]
    readonly_fields = [
        "user",
        "name",
        "prefix",
        "access",
        "sites_named",
        "created_at",
        "created_by",
        "expires_at",
        "last_used_at",
        "last_used_from",
        "revoked_at",
        "revoked_by",
    ]
    actions = ["revoke_selected"]

    def scoped(self, queryset, request):
        return queryset.filter(pk__in=tokens_manageable_by(request.user).values("pk"))

    def get_fields(self, request, obj=None):
        if obj is None:
            return [*NewTokenForm.Meta.fields, REASON_FIELD]
        return self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None:
            return super().get_form(request, obj, change, **kwargs)
        form = with_reason_field(NewTokenForm)
        refusal = getattr(request, "_andon_refusal", None)

        class Bound(form):
            def __init__(self, *args, **kw):
                super().__init__(*args, actor=request.user, **kw)
                if refusal is not None:
                    self.add_error(None, refusal.message())

        return Bound

    def has_change_permission(self, request, obj=None):
        return False  # read-only; revoking is an action

    @admin.display(description=_("limited to sites"))
    def sites_named(self, obj):
        return ", ".join(obj.sites.values_list("code", flat=True)) or gettext("every site")

    @admin.display(description=_("state"))
    def state(self, obj):
        return obj.state

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            token, key = create_token(
                data["user"],
                actor=request.user,
                name=data["name"],
                access=data["access"],
                expires_at=data["expires_at"],
                sites=data.get("sites") or [],
                reason=admin_reason(form, created=True),
            )
        except DomainError as error:
            raise _Refused(error) from error
        obj.pk = token.pk
        request._andon_new_key = (token, key)

    def response_add(self, request, obj, post_url_continue=None):
        """The key on the page itself, this once (never in a cookie-stored message; the
        admin's pages are never cached)."""
        token, key = request._andon_new_key
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "token": token,
            "key": key,
            "title": gettext("Token made"),
        }
        return TemplateResponse(request, "admin/mes/apitoken/made.html", context)

    def save_related(self, request, form, formsets, change):
        pass  # the service set the sites

    def log_addition(self, request, obj, message):
        pass  # the token's history says who made it and why

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except _Refused as refused:
            request._andon_refusal = refused
            return super().changeform_view(request, object_id, form_url, extra_context)

    @admin.action(description=_("Revoke the selected tokens"), permissions=["view"])
    def revoke_selected(self, request, queryset):
        done = 0
        for token in queryset.filter(revoked_at__isnull=True):
            revoke_token(token, actor=request.user, reason=gettext("Revoked in the admin."))
            done += 1
        self.message_user(request, ngettext("%d token revoked.", "%d tokens revoked.", done) % done)
