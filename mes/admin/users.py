"""Accounts in the admin: a manager sees and changes only the accounts of the sites they hold,
gives only the roles they may delegate and only their own sites; superuser, staff and raw
permissions are for superusers. Every save goes through :func:`mes.services.save_account`."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import AdminSplitDateTime
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from mes.access import users_visible_to
from mes.errors import DomainError
from mes.models import AccountKind, Site
from mes.services.accounts import (
    SIGN_IN_CHANGED,
    accounts_manageable_by,
    grantable_roles,
    lifecycle_of,
    manageable_sites,
    max_account_days,
    password_set,
    save_account,
    set_lifecycle,
    site_codes_of,
)

from .base import REASON_FIELD, _Refused, admin_reason, with_reason_field

User = get_user_model()
LIFECYCLE = ("kind", "sponsor", "expires_at")


def _with_roles_and_sites(form_class, request, obj):
    """``form_class`` with the roles and sites the signed-in user may grant, as checkboxes."""
    actor = request.user
    roles = forms.ModelMultipleChoiceField(
        label=_("Roles"),
        queryset=Group.objects.filter(name__in=grantable_roles(actor)).order_by("name"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        initial=list(obj.groups.all()) if obj is not None else [],
    )
    held = []
    if obj is not None:
        held = list(Site.objects.filter(code__in=site_codes_of(obj)))
    sites = forms.ModelMultipleChoiceField(
        label=_("Sites"),
        queryset=manageable_sites(actor).order_by("code"),
        widget=forms.CheckboxSelectMultiple,
        required=not actor.is_superuser,
        initial=held,
        help_text=_("Where the account works (its roles apply there)."),
    )
    lifecycle = lifecycle_of(obj) if obj is not None else None
    kind = forms.ChoiceField(
        label=_("Kind of account"),
        choices=AccountKind.choices,
        required=False,  # employee
        initial=lifecycle.kind if lifecycle else AccountKind.EMPLOYEE,
        help_text=_("Every kind but employee expires."),
    )
    sponsor = forms.ModelChoiceField(
        label=_("Sponsor"),
        queryset=users_visible_to(actor).filter(is_active=True).order_by("username"),
        required=False,
        initial=lifecycle.sponsor_id if lifecycle else actor.pk,
        help_text=_("Who answers for it and is told before it expires (default: you)."),
    )
    expires_at = forms.SplitDateTimeField(
        label=_("Expires"),
        required=False,
        widget=AdminSplitDateTime,
        initial=lifecycle.expires_at if lifecycle else None,
        help_text=_("Required unless an employee; at most %(days)s days ahead.")
        % {"days": max_account_days()},
    )
    fields = {"roles": roles, "sites": sites, "kind": kind, "sponsor": sponsor}
    fields["expires_at"] = expires_at
    return type(form_class.__name__, (form_class,), fields)


class PasswordSetForm(AdminPasswordChangeForm):
    """The stock form, whose save says why in the account's history."""

    def save(self, commit=True):
        self.user._change_reason = SIGN_IN_CHANGED
        return super().save(commit)


class AccountAdmin(UserAdmin):
    """The stock user admin, scoped and delegating through the account service."""

    change_password_form = PasswordSetForm

    MANAGER_FIELDSETS = (
        (None, {"fields": ("username", "password")}),
        (_("Person"), {"fields": ("first_name", "last_name", "email", "is_active")}),
        (_("Access"), {"fields": ("roles", "sites", *LIFECYCLE, REASON_FIELD)}),
    )
    MANAGER_ADD_FIELDSETS = (
        (None, {"fields": ("username", "password1", "password2")}),
        (_("Access"), {"fields": ("roles", "sites", *LIFECYCLE, REASON_FIELD)}),
    )

    def get_queryset(self, request):
        return accounts_manageable_by(request.user)

    def get_fieldsets(self, request, obj=None):
        if request.user.is_superuser:
            fieldsets = [
                (name, {**opts, "fields": [f for f in opts["fields"] if f != "groups"]})
                for name, opts in super().get_fieldsets(request, obj)
            ]
            roles = (
                _("Roles, sites and lifecycle"),
                {"fields": ("roles", "sites", *LIFECYCLE, REASON_FIELD)},
            )
            return [*fieldsets, roles]
        return self.MANAGER_ADD_FIELDSETS if obj is None else self.MANAGER_FIELDSETS

    def get_form(self, request, obj=None, change=False, **kwargs):
        base = self.add_form if obj is None else self.form
        kwargs["form"] = with_reason_field(_with_roles_and_sites(base, request, obj))
        return super().get_form(request, obj, change=change, **kwargs)

    def save_model(self, request, obj, form, change):
        """Saved with its roles and sites in :meth:`save_related`, by the service."""

    def save_related(self, request, form, formsets, change):
        data = form.cleaned_data
        try:
            reason = admin_reason(form, not change)
            with transaction.atomic():
                save_account(
                    form.instance,
                    actor=request.user,
                    reason=reason,
                    roles=data.get("roles"),
                    sites=data.get("sites"),
                )
                set_lifecycle(
                    form.instance,
                    actor=request.user,
                    kind=data.get("kind") or AccountKind.EMPLOYEE,
                    sponsor=data.get("sponsor"),
                    expires_at=data.get("expires_at"),
                    reason=reason,
                )
        except DomainError as exc:
            raise _Refused(exc) from exc
        if request.user.is_superuser and "user_permissions" in form.cleaned_data:
            form.instance.user_permissions.set(form.cleaned_data["user_permissions"])

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except _Refused as refused:
            from django.contrib import messages

            self.message_user(request, refused.message(), messages.ERROR)
            return super().changeform_view(request, object_id, form_url, extra_context)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser  # accounts are deactivated, not deleted

    def user_change_password(self, request, id, form_url=""):  # noqa: A002 (Django's name)
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            password_set(self.get_object(request, unquote(id)), actor=request.user)
        return response


admin.site.unregister(User)
admin.site.register(User, AccountAdmin)
