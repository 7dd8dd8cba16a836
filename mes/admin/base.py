"""Shared admin pieces: the site scope, service-backed saves, read-only records."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.timezone import localtime
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from mes import services
from mes.access import sees_every_site, users_visible_to
from mes.errors import DomainError
from mes.models import GLOBAL

SITE_FILTER = admin.RelatedOnlyFieldListFilter  # choices come from the scoped queryset only


# --- scoping ------------------------------------------------------------------------------


def _visible_choices(model, user):
    """What a form may offer of ``model``: its ``visible_to``; accounts of the user's sites."""
    if model is get_user_model():
        return users_visible_to(user)
    manager = model._default_manager
    return manager.visible_to(user) if hasattr(manager, "visible_to") else None


class ScopedForeignKeysMixin:
    """Choices of foreign keys and many-to-many fields limited to what the user may see
    (records and accounts of their sites)."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        choices = _visible_choices(db_field.remote_field.model, request.user)
        if "queryset" not in kwargs and choices is not None:
            kwargs["queryset"] = choices
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        choices = _visible_choices(db_field.remote_field.model, request.user)
        if "queryset" not in kwargs and choices is not None:
            kwargs["queryset"] = choices
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class ScopedAdminMixin(ScopedForeignKeysMixin):
    """The one scope of every admin of an Andon model (a system check insists):
    ``visible_to(user)``; rows are never deleted here.

    A record of another site is simply absent, so opening it by URL gets the admin's
    "doesn't exist" answer, its history page a 404. An admin with a wider audience than the
    model's API (support lists) says so by overriding :meth:`scoped`.
    """

    def get_queryset(self, request):
        return self.scoped(super().get_queryset(request), request)

    def scoped(self, queryset, request):
        return queryset.visible_to(request.user)

    def may_change_shared(self, request) -> bool:
        """Rows every site shares (``scope = GLOBAL``: types, workflows, policies, items) are
        changed only by who sees every site (:func:`mes.access.sees_every_site`): a manager
        of one plant does not decide how the others work. The others read them."""
        return getattr(self.model, "scope", None) != GLOBAL or sees_every_site(request.user)

    def has_add_permission(self, request):
        return self.may_change_shared(request) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return self.may_change_shared(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def _get_visible(self, request, object_id):
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404(gettext("No such record."))
        return obj

    def history_view(self, request, object_id, extra_context=None):
        # simple-history falls back to the history table for missing objects; scope it first.
        self._get_visible(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._get_visible(request, object_id)
        if request.method == "POST":
            # A revert would write the row itself, past the service (no reason, no event, no
            # check of what the user may not see): history is read here, changes are made
            # on the change page. (SIMPLE_HISTORY_REVERT_DISABLED hides the button.)
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


class ScopedInline(ScopedForeignKeysMixin, admin.TabularInline):
    """An editable inline whose choices are scoped like its admin's."""


class ReadOnlyInline(ScopedInline):
    """A read-only list of related facts on a change page."""

    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs.visible_to(request.user) if hasattr(qs, "visible_to") else qs

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- master data: saved through services.save_master_record -------------------------------


class _Refused(Exception):
    """A service refused a save; carries the error back to ``changeform_view``.

    ``record`` names an inline row, whose field errors must not land on the parent's fields.
    """

    def __init__(self, error: DomainError, record: str = ""):
        super().__init__(error.detail)
        self.error = error
        self.record = record

    def message(self) -> str:
        if not self.record:
            return self.error.detail
        return gettext("%(record)s: %(error)s") % {
            "record": self.record,
            "error": self.error.detail,
        }


def _form_with_refusal(form_class, refused: _Refused):
    """``form_class`` whose validation reports the service's refusal, so the page re-renders."""

    def clean(self):
        cleaned = super(form, self).clean()
        unplaced = []
        for field, errors in refused.error.fields.items():
            if not refused.record and field in self.fields and field in self.cleaned_data:
                self.add_error(field, errors)
            else:
                unplaced.extend(str(e) for e in errors)
        self.add_error(None, [refused.message(), *unplaced])
        return cleaned

    form = type(form_class.__name__, (form_class,), {"clean": clean})
    return form


REASON_FIELD = "change_reason"
REVERT_PARAM = "from_history"


def ticked(label, choices, help_text="") -> forms.MultipleChoiceField:
    """A JSON list of names as checkboxes (none ticked: an empty list)."""
    return forms.MultipleChoiceField(
        label=label,
        choices=choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=help_text,
    )


def with_reason_field(form_class):
    """``form_class`` with an optional "reason for the change" that history keeps."""
    field = forms.CharField(
        label=_("Reason for the change"),
        required=False,
        max_length=100,
        help_text=_("Kept in the history with your name. Empty: the fields you changed."),
    )
    return type(form_class.__name__, (form_class,), {REASON_FIELD: field})


def admin_reason(form, created: bool, formsets=()) -> str:
    """The history/outbox reason of an admin save: the one the user gave, else what the form
    and its inlines say was changed."""
    given = (form.cleaned_data.get(REASON_FIELD) or "").strip() if form is not None else ""
    if given:
        return given
    if created:
        return gettext("Added in the admin.")
    labels = [
        str(form.fields[name].label or name) for name in form.changed_data if name != REASON_FIELD
    ]
    labels += [str(fs.model._meta.verbose_name_plural) for fs in formsets if fs.has_changed()]
    if not labels:
        return gettext("Saved in the admin without changes.")
    return gettext("Changed in the admin: %(fields)s.") % {"fields": ", ".join(labels)}


class ServiceAdmin(ScopedAdminMixin, SimpleHistoryAdmin):
    """An admin whose saves go through a service, with an optional reason for the change.

    A refused save (``DomainError``) rolls the whole request back and shows the form again
    with the service's message.
    """

    def __init__(self, model, admin_site):
        super().__init__(model, admin_site)
        self.form = with_reason_field(self.form)

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (name, {**opts, "fields": [f for f in opts.get("fields", ()) if f != REASON_FIELD]})
            for name, opts in super().get_fieldsets(request, obj)
        ]
        can_save = self.has_add_permission(request) if obj is None else None
        if can_save is None:
            can_save = self.has_change_permission(request, obj)
        if can_save:
            fieldsets.append((None, {"fields": [REASON_FIELD]}))
        return fieldsets

    def changelist_view(self, request, extra_context=None):
        try:
            return super().changelist_view(request, extra_context)
        except _Refused as refused:
            # A list_editable save the service refused: rolled back, said, the list again.
            self.message_user(request, refused.message(), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except _Refused as refused:
            # The first pass is rolled back; the second shows the form with the refusal.
            self.message_user(request, refused.message(), messages.ERROR)
            request._andon_refusal = refused
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        refusal = getattr(request, "_andon_refusal", None)
        return _form_with_refusal(form, refusal) if refusal is not None else form

    def refused(self, exc: DomainError, obj, inline: bool = False) -> _Refused:
        record = f"{obj._meta.verbose_name} {getattr(obj, 'code', '')}".strip()
        return _Refused(exc, record if inline else "")


class MasterDataAdmin(ServiceAdmin):
    """Sites, work centers, machines and items: edited here, saved by ``save_master_record``."""

    def save_model(self, request, obj, form, change):
        self._save_master(request, obj, admin_reason(form, not change))

    def save_formset(self, request, form, formset, change):
        formset.save(commit=False)
        for obj in formset.new_objects:
            self.prepare_inline_object(form.instance, obj)
            self._save_master(request, obj, admin_reason(None, True), inline=True)
        for obj, changed in formset.changed_objects:
            reason = gettext("Changed in the admin: %(fields)s.") % {"fields": ", ".join(changed)}
            self._save_master(request, obj, reason, inline=True)
        formset.save_m2m()

    def prepare_inline_object(self, parent, obj) -> None:
        """Fill what an inline row inherits from its parent before it is saved."""

    def _save_master(self, request, obj, reason: str, *, inline: bool = False) -> None:
        try:
            services.save_master_record(obj, actor=request.user, reason=reason)
        except DomainError as exc:
            raise self.refused(exc, obj, inline) from exc


class ConfigAdmin(ServiceAdmin):
    """Configuration (calendars, types, workflows, rules, policies): the object, its inlines
    and its many-to-many are saved together by ``save_service`` (one transaction, history with
    the reason, one event), never by the admin itself."""

    save_service = None  # e.g. staticmethod(mes.services.save_calendar)

    def save_model(self, request, obj, form, change):
        """Saved with its inlines in :meth:`save_related`, by the service."""

    # --- revert from history: a version loaded into the change form, saved like any change

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        url = reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[object_id]
        )
        extra = {"revert_url": f"{url}?{REVERT_PARAM}={int(version_id)}"}
        if not self.has_change_permission(request, self._get_visible(request, object_id)):
            extra = {}
        return super().history_form_view(
            request, object_id, version_id, extra | (extra_context or {})
        )

    def get_object(self, request, object_id, from_field=None):
        """With ``?from_history=<id>`` on a GET: the object with the fields of that version of
        its own history, for the manager to check, give a reason and save (its rows edited
        with it and its many-to-many stay as they are now)."""
        obj = super().get_object(request, object_id, from_field)
        version = request.GET.get(REVERT_PARAM, "") if request.method == "GET" else ""
        if obj is None or not version.isdigit() or not hasattr(obj, "history"):
            return obj
        record = obj.history.filter(history_id=int(version)).first()
        if record is None:
            return obj
        for field in self.model._meta.concrete_fields:
            if field.editable and not field.primary_key and hasattr(record, field.attname):
                setattr(obj, field.attname, getattr(record, field.attname))  # secrets: not kept
        messages.info(
            request,
            gettext(
                "The form holds the version of %(when)s by %(who)s. Check it, say why in "
                "the reason, and save to revert; rows edited with it and its many-to-many "
                "choices are as they are now."
            )
            % {
                "when": localtime(record.history_date).strftime("%Y-%m-%d %H:%M"),
                "who": record.history_user or "-",
            },
        )
        return obj

    def m2m_callbacks(self, request, form, change) -> list:
        return [form.save_m2m]

    def service_arguments(self, request, form) -> dict:
        """More keyword arguments for ``save_service`` (what it checks itself)."""
        return {}

    def save_related(self, request, form, formsets, change):
        children, removed, after_children = [], [], []
        for formset in formsets:
            children += formset.save(commit=False)
            removed += formset.deleted_objects
            after_children.append(formset.save_m2m)
        try:
            self.save_service(
                form.instance,
                actor=request.user,
                reason=admin_reason(form, not change, formsets),
                children=children,
                removed=removed,
                after_save=self.m2m_callbacks(request, form, change),
                after_children=after_children,
                **self.service_arguments(request, form),
            )
        except DomainError as exc:
            raise self.refused(exc, form.instance) from exc


# --- production records: read-only here, changed by services -------------------------------


class DomainRecordAdmin(ScopedAdminMixin, SimpleHistoryAdmin):
    """Records the admin shows but never creates or edits.

    ``service_actions`` admins keep the model's change permission on the changelist, because
    their actions (which call services) require it; a single record is still never editable.
    """

    service_actions = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        if obj is not None or not self.service_actions:
            return False
        return super().has_change_permission(request)


# --- actions that call a service, with a reason asked first -------------------------------


class ReasonForm(forms.Form):
    """The one reason form of every admin action that needs one (hold, cancel, retry...)."""

    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=500,
        help_text=_("Recorded in the history of every selected record."),
    )


def ask_reason(model_admin, request, queryset, *, action: str, title: str, note: str, then):
    """An intermediate page asking for a reason (like the delete confirmation); once given,
    ``then(reason)`` runs and the changelist comes back (None). Selected records the user
    does not see (another site's) are not in ``queryset``: with none left, nothing is asked."""
    if not queryset.exists():
        model_admin.message_user(request, gettext("No record to change."), messages.WARNING)
        return None
    form = ReasonForm(request.POST if "post" in request.POST else None)
    if form.is_bound and form.is_valid():
        then(form.cleaned_data["reason"])
        return None
    request.current_app = model_admin.admin_site.name
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "form": form,
        "queryset": queryset,
        "action": action,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "opts": model_admin.model._meta,
        "media": model_admin.media,
        "note": note,
    }
    return TemplateResponse(request, "admin/action_reason.html", context)


def apply_to_each(model_admin, request, queryset, service, done, *, name=str, **kwargs) -> int:
    """Run ``service(obj, actor=user, **kwargs)`` on each selected record: a refusal is
    reported for its record and never stops the others; ``done(n)`` says what succeeded."""
    succeeded = 0
    for obj in queryset:
        try:
            service(obj, actor=request.user, **kwargs)
        except DomainError as exc:
            model_admin.message_user(
                request,
                gettext("%(record)s: %(error)s") % {"record": name(obj), "error": exc.detail},
                messages.ERROR,
            )
        else:
            succeeded += 1
    if succeeded:
        model_admin.message_user(request, done(succeeded) % {"count": succeeded}, messages.SUCCESS)
    return succeeded
