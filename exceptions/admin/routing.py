"""Admin of the routing rules, and the dry run: which rules would fire for an exception."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mes.admin.base import ConfigAdmin
from mes.models import Site, WorkCenter
from mes.roles import ROLES

from .. import rule_registry, rules, services
from ..choices import Category, FieldOperator, RuleTrigger, Severity
from ..models import ExceptionTicket, ExceptionType, RoutingRule
from ..schema import validate_data

PARAM_HINTS = {
    "role": _("a role"),
    "roles": _("a list of roles"),
    "severity": _("a severity"),
    "username": _("a username"),
}


def _param_hint(param: rule_registry.Param) -> str:
    if isinstance(param.kind, type):
        hint = {str: gettext("text"), list: gettext("a list")}.get(param.kind, param.kind.__name__)
    else:
        hint = str(PARAM_HINTS.get(param.kind, param.kind))
    return hint if param.required else gettext("%(hint)s, optional") % {"hint": hint}


def actions_help() -> str:
    """The registered actions and their parameters, for the ``actions`` field (HTML)."""
    items = format_html_join(
        "",
        "<li><code>{}</code> {}</li>",
        (
            (
                "{"
                + ", ".join(
                    [f'"action": "{a.name}"']
                    + [f'"{name}": <{_param_hint(p)}>' for name, p in a.params.items()]
                )
                + "}",
                f"— {a.label}",
            )
            for a in (
                rule_registry.actions.get(name) for name, _label in rule_registry.actions.choices()
            )
        ),
    )
    return format_html(
        "{}<ul>{}</ul>{} <code>{}</code>. {} <code>{}</code>.",
        gettext("A JSON list of actions, run in order when the rule matches:"),
        items,
        gettext("Roles:"),
        ", ".join(ROLES),
        gettext("Severities:"),
        ", ".join(Severity.values),
    )


def field_conditions_help() -> str:
    operators = format_html_join(
        ", ", "<code>{}</code> ({})", ((op.value, op.label) for op in FieldOperator)
    )
    return format_html(
        "{} <code>{}</code>. {} {}. {}",
        gettext("A JSON list comparing form fields; all must hold. Example:"),
        '[{"field": "qty_missing", "op": "greater", "value": 100}]',
        gettext("Operators:"),
        operators,
        gettext("A ticket without the field never matches. Leave [] for no condition."),
    )


class WorkCenterChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.site.code} · {obj.code} {obj.name}"


class RoutingRuleForm(forms.ModelForm):
    """Categories and severities as checkboxes; the JSON fields explained from the registries.
    ``RoutingRule.clean()`` (``rule_problems``) reports problems on the field they concern."""

    categories = forms.MultipleChoiceField(
        label=_("categories"),
        choices=Category.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every category."),
    )
    severities = forms.MultipleChoiceField(
        label=_("severities"),
        choices=Severity.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every severity."),
    )

    class Meta:
        model = RoutingRule
        fields = (
            "name",
            "trigger",
            "order",
            "is_active",
            "stop_processing",
            "types",
            "categories",
            "sites",
            "work_centers",
            "severities",
            "field_conditions",
            "actions",
        )
        widgets = {
            "actions": forms.Textarea(attrs={"rows": 6, "cols": 90, "class": "vLargeTextField"}),
            "field_conditions": forms.Textarea(
                attrs={"rows": 3, "cols": 90, "class": "vLargeTextField"}
            ),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Built per form, so actions registered by later apps are listed too.
        if "actions" in self.fields:
            self.fields["actions"].help_text = actions_help()
        if "field_conditions" in self.fields:
            self.fields["field_conditions"].help_text = field_conditions_help()


def _describe_action(entry) -> str:
    if not isinstance(entry, dict):
        return "?"
    params = ", ".join(
        f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}"
        for k, v in entry.items()
        if k != "action"
    )
    return f"{entry.get('action', '?')}({params})" if params else str(entry.get("action", "?"))


def _describe_conditions(rule: RoutingRule) -> str:
    parts = []
    if types := [t.code for t in rule.types.all()]:
        parts.append(gettext("type %(v)s") % {"v": ", ".join(types)})
    if rule.categories:
        parts.append(gettext("category %(v)s") % {"v": ", ".join(map(str, rule.categories))})
    if sites := [s.code for s in rule.sites.all()]:
        parts.append(gettext("site %(v)s") % {"v": ", ".join(sites)})
    if wcs := [w.code for w in rule.work_centers.all()]:
        parts.append(gettext("work center %(v)s") % {"v": ", ".join(wcs)})
    if rule.severities:
        parts.append(gettext("severity %(v)s") % {"v": ", ".join(map(str, rule.severities))})
    for c in rule.field_conditions if isinstance(rule.field_conditions, list) else []:
        if isinstance(c, dict):
            parts.append(f"{c.get('field')} {c.get('op')} {c.get('value')!r}")
    return "; ".join(parts) or gettext("every exception")


# --- dry run -------------------------------------------------------------------------------


class DryRunForm(forms.Form):
    """Either an existing exception (by number, at the user's sites) or a described sample."""

    trigger = forms.ChoiceField(
        label=_("Trigger"), choices=RuleTrigger.choices, initial=RuleTrigger.RAISED
    )
    ticket = forms.CharField(
        label=_("Existing exception"),
        required=False,
        max_length=30,
        help_text=_("Its number, e.g. P1-000123. Leave empty to describe a sample below."),
        widget=forms.TextInput(attrs={"list": "recent-exceptions", "autocomplete": "off"}),
    )
    type = forms.ModelChoiceField(
        label=_("Type"),
        queryset=ExceptionType.objects.order_by("sort_order", "name"),
        required=False,
    )
    site = forms.ModelChoiceField(label=_("Site"), queryset=Site.objects.none(), required=False)
    severity = forms.ChoiceField(
        label=_("Severity"),
        choices=[("", _("the type's default")), *Severity.choices],
        required=False,
    )
    work_center = forms.ModelChoiceField(
        label=_("Work center"), queryset=WorkCenter.objects.none(), required=False
    )
    data = forms.JSONField(
        label=_("Form data"),
        required=False,
        initial=dict,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text=_('As the floor would send it, e.g. {"material": "RM-1", "qty_missing": 5}.'),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["site"].queryset = Site.objects.visible_to(user).order_by("code")
        self.fields["work_center"].queryset = (
            WorkCenter.objects.visible_to(user)
            .select_related("site")
            .order_by("site__code", "code")
        )
        self.fields["work_center"].label_from_instance = lambda wc: f"{wc.site.code} · {wc}"
        self.warnings: list[str] = []

    def clean(self):
        cleaned = super().clean()
        number = (cleaned.get("ticket") or "").strip()
        if number:
            ticket = (
                ExceptionTicket.objects.visible_to(self.user)
                .select_related("type", "site", "work_center", "work_order")
                .filter(number=number)
                .first()
            )
            if ticket is None:
                self.add_error("ticket", gettext("No exception with this number at your sites."))
            cleaned["subject"] = ticket
            return cleaned
        for name in ("type", "site"):
            if not cleaned.get(name) and name not in self.errors:
                self.add_error(name, gettext("Pick one, or give an existing exception."))
        exception_type, site = cleaned.get("type"), cleaned.get("site")
        work_center = cleaned.get("work_center")
        if work_center is not None and site is not None and work_center.site_id != site.pk:
            self.add_error("work_center", gettext("Of another site."))
        data = cleaned.get("data")
        if data in (None, ""):
            data = {}
        if not isinstance(data, dict):
            self.add_error("data", gettext("The form data must be a JSON object."))
        if self.errors:
            return cleaned
        for field, errors in validate_data(exception_type.form_schema, data).items():
            self.warnings.extend(f"{field}: {e}" for e in errors)
        cleaned["subject"] = sample_ticket(
            exception_type,
            site,
            severity=cleaned.get("severity") or exception_type.default_severity,
            work_center=work_center,
            data=data,
        )
        return cleaned


def sample_ticket(exception_type, site, *, severity, work_center=None, data=None):
    """An unsaved ticket as it would be raised, for the dry run only (never saved)."""
    workflow = exception_type.workflow
    state = workflow.states.filter(code=workflow.initial_state).first()
    return ExceptionTicket(
        number=gettext("(sample)"),
        site=site,
        type=exception_type,
        workflow=workflow,
        work_center=work_center,
        severity=severity,
        status=state.code if state else workflow.initial_state,
        phase=state.phase if state else ExceptionTicket._meta.get_field("phase").default,
        data=data or {},
    )


@dataclass
class DryRunRow:
    rule: RoutingRule
    matched: bool
    actions: list[tuple[str, str]]  # (label, the JSON entry described)
    stops_here: bool
    skipped: bool
    failed: list[str]  # the conditions that did not hold


def dry_run_rows(ticket: ExceptionTicket, trigger: str) -> list[DryRunRow]:
    """``rules.dry_run`` with, per rule, the actions spelled out and the conditions that failed."""
    rows, stopped = [], False
    for outcome in rules.dry_run(ticket, trigger):
        rule = outcome.rule
        failed = []
        if not outcome.matched and not stopped:
            failed = [
                str(_condition_label(name))
                for name, check in rule_registry.conditions.items()
                if not check(rule, ticket)
            ]
        rows.append(
            DryRunRow(
                rule=rule,
                matched=outcome.matched,
                actions=list(
                    zip(outcome.actions, map(_describe_action, rule.actions), strict=False)
                )
                if outcome.matched
                else [],
                stops_here=outcome.stopped_here,
                skipped=stopped,
                failed=failed,
            )
        )
        stopped = stopped or outcome.stopped_here
    return rows


def _condition_label(name: str):
    try:
        return RoutingRule._meta.get_field(name).verbose_name
    except FieldDoesNotExist:  # a condition registered by another app
        return name


# --- the admin -----------------------------------------------------------------------------


class CategoryFilter(admin.SimpleListFilter):
    title = _("category")
    parameter_name = "category"

    def lookups(self, request, model_admin):
        return Category.choices

    def queryset(self, request, queryset):
        if self.value() in Category.values:
            # Text match on the JSON list: works on PostgreSQL and the demo's SQLite alike.
            return queryset.filter(categories__icontains=f'"{self.value()}"')
        return queryset


@admin.register(RoutingRule)
class RoutingRuleAdmin(ConfigAdmin):
    save_service = staticmethod(services.save_routing_rule)
    form = RoutingRuleForm
    list_display = (
        "order",
        "name",
        "trigger",
        "is_active",
        "stop_processing",
        "conditions",
        "actions_summary",
    )
    list_display_links = ("name",)
    list_editable = ("order", "is_active")
    list_filter = ("trigger", "is_active", "stop_processing", "types", CategoryFilter)
    search_fields = ("name",)
    ordering = ("trigger", "order", "pk")
    filter_horizontal = ("types", "sites", "work_centers")
    fieldsets = (
        (None, {"fields": ("name", "trigger", "order", "is_active", "stop_processing")}),
        (
            _("Conditions (all must hold; an empty condition matches everything)"),
            {
                "fields": (
                    "types",
                    "categories",
                    "sites",
                    "work_centers",
                    "severities",
                    "field_conditions",
                )
            },
        ),
        (_("Actions"), {"fields": ("actions",)}),
    )
    scoped_m2m = {"sites": Site, "work_centers": WorkCenter}

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("types", "sites", "work_centers")

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        # A manager picks among the sites they see; other sites' choices are kept on save.
        if db_field.name == "sites":
            kwargs["queryset"] = Site.objects.visible_to(request.user).order_by("code")
        elif db_field.name == "work_centers":
            kwargs["queryset"] = (
                WorkCenter.objects.visible_to(request.user)
                .select_related("site")
                .order_by("site__code", "code")
            )
            kwargs["form_class"] = WorkCenterChoiceField
        elif db_field.name == "types":
            kwargs["queryset"] = ExceptionType.objects.order_by("sort_order", "name")
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def m2m_callbacks(self, request, form, change) -> list:
        """The form's choices, then back the sites and work centers the user cannot see:
        a manager picks among their own, the others' stay."""
        hidden = {}
        if change:
            for name, model in self.scoped_m2m.items():
                visible = model.objects.visible_to(request.user).values("pk")
                hidden[name] = list(getattr(form.instance, name).exclude(pk__in=visible))

        def keep_hidden():
            for name, objects in hidden.items():
                if objects:
                    getattr(form.instance, name).add(*objects)

        return [form.save_m2m, keep_hidden]

    @admin.display(description=_("conditions"))
    def conditions(self, obj):
        return _describe_conditions(obj)

    @admin.display(description=_("actions"))
    def actions_summary(self, obj):
        entries = obj.actions if isinstance(obj.actions, list) else []
        return "; ".join(_describe_action(e) for e in entries)

    # --- dry run ---

    def get_urls(self):
        return [
            path(
                "dry-run/",
                self.admin_site.admin_view(self.dry_run_view),
                name="exceptions_routingrule_dry_run",
            ),
            *super().get_urls(),
        ]

    def dry_run_view(self, request):
        """Which active rules of a trigger would fire, in order, for an exception or a sample.
        A GET that reads only: nothing is saved, no action runs."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        submitted = "trigger" in request.GET
        form = DryRunForm(request.GET if submitted else None, user=request.user)
        rows = subject = None
        if submitted and form.is_valid():
            subject = form.cleaned_data["subject"]
            rows = dry_run_rows(subject, form.cleaned_data["trigger"])
        recent = (
            ExceptionTicket.objects.visible_to(request.user)
            .order_by("-raised_at", "-pk")
            .values_list("number", flat=True)[:50]
        )
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Dry run of the routing rules"),
            "opts": self.model._meta,
            "form": form,
            "rows": rows,
            "subject": subject,
            "recent": recent,
            "media": self.media + form.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/exceptions/routingrule/dry_run.html", context)
