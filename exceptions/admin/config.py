"""Admin of the low-code configuration: exception types with their forms, and workflows."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from mes.admin.base import ConfigAdmin, ScopedInline
from mes.roles import ROLES

from .. import services
from ..models import ExceptionTicket, ExceptionType, Workflow, WorkflowState, WorkflowTransition
from ..schema import fields, schema_problems, type_help
from . import type_summary
from .form_builder import FormBuilderWidget, preview_view
from .wizard import wizard_view
from .workflow_view import (
    diagram_from_rows,
    diagram_view,
    live_context,
    render_diagram,
    saved_diagram,
)


def form_schema_help() -> str:
    return gettext(
        "The form the floor fills in: add a row per field; the phone beside it shows the form "
        "as you build it. Stored as standard JSON Schema (edit it directly with the advanced "
        "switch). Example: "
        '{"properties": {"material": {"type": "string", "title": "Material", "maxLength": 60}, '
        '"qty_missing": {"type": "number", "title": "Missing quantity", "minimum": 0}, '
        '"needed_by": {"type": "string", "format": "date", "title": "Needed by"}, '
        '"symptom": {"type": "string", "enum": ["alarm", "leak"]}}, "required": ["material"]}. '
        "Field types: %(types)s. Per field: title, description, enum (choices), minimum, "
        "maximum, minLength, maxLength, default. Leave {} for a type without a form."
    ) % {"types": type_help()}


# --- exception types -----------------------------------------------------------------------


class ExceptionTypeForm(forms.ModelForm):
    """The schema is checked by ``ExceptionType.clean()`` (``schema_problems``), per field."""

    class Meta:
        model = ExceptionType
        fields = (
            "code",
            "name",
            "category",
            "description",
            "is_active",
            "default_severity",
            "workflow",
            "icon",
            "colour",
            "sort_order",
            "form_schema",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Built per form, so field types registered by later apps are listed too.
        if "form_schema" in self.fields:  # absent for those who may only view
            self.fields["form_schema"].help_text = form_schema_help()
            self.fields["form_schema"].widget = FormBuilderWidget(
                preview_url=reverse("admin:exceptions_exceptiontype_preview")
                + (f"?type={self.instance.pk}" if self.instance.pk else "")
            )


@admin.register(ExceptionType)
class ExceptionTypeAdmin(ConfigAdmin):
    save_service = staticmethod(services.save_exception_type)
    form = ExceptionTypeForm
    list_display = (
        "code",
        "name",
        "category",
        "default_severity",
        "workflow",
        "is_active",
        "sort_order",
    )
    list_filter = ("category", "default_severity", "workflow", "is_active")
    list_select_related = ("workflow",)
    search_fields = ("code", "name", "description")
    ordering = ("sort_order", "name")
    fieldsets = (
        (None, {"fields": ("code", "name", "category", "description", "is_active")}),
        (_("Routing defaults"), {"fields": ("default_severity", "workflow")}),
        (_("On the floor"), {"fields": ("icon", "colour", "sort_order")}),
        (_("Form"), {"fields": ("form_schema", "form_preview")}),
        (_("Everything that handles it"), {"fields": ("handled_by",)}),
    )
    readonly_fields = ("form_preview", "handled_by")

    @admin.display(description=_("workflow, clocks and rules"))
    def handled_by(self, obj):
        """Its workflow, SLA policy and ladder per severity, every rule that can match it."""
        if obj is None or obj.pk is None:
            return gettext("Save the type to see what handles it.")
        viewer = getattr(obj, "_viewer", None)  # this request's (see get_form)
        if viewer is None:
            return ""
        return mark_safe(type_summary.summary(obj, viewer))  # noqa: S308 (autoescaped)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None:
            obj._viewer = request.user  # the object is this request's own
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        """Who may edit gets the builder with its live preview; who may only read, the form
        as saved."""
        editable = (
            self.has_change_permission(request, obj) if obj else self.has_add_permission(request)
        )
        if not editable:
            return self.fieldsets
        form = (_("Form"), {"fields": ("form_schema",)})
        return (*self.fieldsets[:-2], form, self.fieldsets[-1])

    def get_urls(self):
        return [
            path("preview/", preview_view(self), name="exceptions_exceptiontype_preview"),
            path("wizard/", wizard_view(self), name="exceptions_exceptiontype_wizard"),
            *super().get_urls(),
        ]

    @admin.display(description=_("form preview (as saved)"))
    def form_preview(self, obj):
        if obj is None or obj.pk is None:
            return gettext("Save the type to see its form.")
        problems = schema_problems(obj.form_schema)
        rows = []
        for name, spec, ftype, required in [] if problems else fields(obj.form_schema):
            limits = [
                f"{label} {spec[key]}"
                for key, label in (
                    ("minimum", "≥"),
                    ("maximum", "≤"),
                    ("minLength", gettext("min length")),
                    ("maxLength", gettext("max length")),
                    ("default", gettext("default")),
                )
                if key in spec
            ]
            rows.append(
                {
                    "name": name,
                    "label": spec.get("title") or name,
                    "type": ftype,
                    "required": required,
                    "choices": spec.get("enum") or [],
                    "limits": limits,
                    "description": spec.get("description", ""),
                }
            )
        return render_to_string(
            "admin/exceptions/exceptiontype/form_preview.html",
            {"rows": rows, "problems": problems},
        )


# --- workflows -----------------------------------------------------------------------------


class WorkflowStateFormSet(forms.BaseInlineFormSet):
    """The states of a workflow as a whole: the initial state must stay, and a state tickets
    are in is neither renamed nor removed (their ``status`` holds its code)."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        workflow = self.instance
        codes, problems = set(), []
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or not form.cleaned_data:
                continue
            deleted = self.can_delete and self._should_delete_form(form)
            old_code = form.initial.get("code")
            if old_code and workflow.pk and (deleted or "code" in form.changed_data):
                in_use = ExceptionTicket.objects.filter(workflow=workflow, status=old_code).count()
                if in_use:
                    problems.append(
                        ngettext(
                            "State %(code)s holds %(n)d exception; it cannot be renamed or "
                            "removed.",
                            "State %(code)s holds %(n)d exceptions; it cannot be renamed or "
                            "removed.",
                            in_use,
                        )
                        % {"code": old_code, "n": in_use}
                    )
            if not deleted and form.cleaned_data.get("code"):
                codes.add(form.cleaned_data["code"])
        if workflow.initial_state and workflow.initial_state not in codes:
            problems.append(
                gettext("Keep a state with the initial state's code %(code)r.")
                % {"code": workflow.initial_state}
            )
        if problems:
            raise ValidationError(problems)


class WorkflowStateInline(ScopedInline):
    model = WorkflowState
    formset = WorkflowStateFormSet
    fields = ("code", "name", "phase", "requires_decision", "pauses_sla")
    extra = 0


class RoleChoiceField(forms.ModelMultipleChoiceField):
    """Roles (Django groups) as checkboxes, in the order of ``mes.roles.ROLES``."""

    widget = forms.CheckboxSelectMultiple


class WorkflowTransitionInline(ScopedInline):
    """Transitions between states of this workflow; the state choices are its own states."""

    model = WorkflowTransition
    fields = ("from_state", "to_state", "label", "roles", "reason_required")
    extra = 0
    verbose_name_plural = _(
        "transitions (no from-state: from any open state; no role ticked: every role)"
    )

    def get_formset(self, request, obj=None, **kwargs):
        request._andon_workflow = obj  # read by formfield_for_foreignkey below, per request
        return super().get_formset(request, obj, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name in ("from_state", "to_state"):
            workflow = getattr(request, "_andon_workflow", None)
            kwargs["queryset"] = (
                WorkflowState.objects.filter(workflow=workflow)
                if workflow is not None and workflow.pk
                else WorkflowState.objects.none()
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "roles":
            kwargs["queryset"] = Group.objects.filter(name__in=ROLES).order_by("name")
            kwargs["form_class"] = RoleChoiceField
            kwargs["widget"] = forms.CheckboxSelectMultiple
        return super().formfield_for_manytomany(db_field, request, **kwargs)


@admin.register(Workflow)
class WorkflowAdmin(ConfigAdmin):
    """A workflow with its states and transitions on one page. New states become choices for
    transitions once saved (save, then add the transitions that use them)."""

    save_service = staticmethod(services.save_workflow)
    list_display = ("code", "name", "initial_state", "state_count", "transition_count")
    search_fields = ("code", "name")
    ordering = ("code",)
    inlines = (WorkflowStateInline, WorkflowTransitionInline)
    fields = ("code", "name", "initial_state", "diagram")
    readonly_fields = ("diagram",)

    class Media:
        js = ("exceptions/workflow_diagram.js",)
        css = {"all": ("exceptions/form_builder.css",)}

    def get_urls(self):
        return [
            path("diagram/", diagram_view(self), name="exceptions_workflow_diagram"),
            *super().get_urls(),
        ]

    @admin.display(description=_("diagram"))
    def diagram(self, obj):
        """The workflow as saved; redrawn from the rows below as they are edited."""
        saved = obj if obj is not None and obj.pk else None
        drawn = saved_diagram(saved) if saved else diagram_from_rows({})
        return format_html(
            '<div class="wf-live" data-url="{}" data-states="{}" data-roles="{}">{}</div>',
            reverse("admin:exceptions_workflow_diagram"),
            *live_context(saved).values(),
            mark_safe(render_diagram(drawn)),  # noqa: S308 (rendered with autoescape)
        )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                _states=Count("states", distinct=True),
                _transitions=Count("transitions", distinct=True),
            )
        )

    @admin.display(description=_("states"), ordering="_states")
    def state_count(self, obj):
        return obj._states

    @admin.display(description=_("transitions"), ordering="_transitions")
    def transition_count(self, obj):
        return obj._transitions
