"""Admin of the routing rules, and the dry run: which rules would fire for an exception."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mes.access import sees_every_site
from mes.admin.base import ConfigAdmin, ticked
from mes.models import Site, WorkCenter
from mes.roles import ROLES

from .. import rule_registry, services
from ..choices import Category, FieldOperator, Severity
from ..models import ExceptionType, RoutingRule
from . import rule_builder
from .dry_run import DryRunForm, describe_action, recent_numbers, simulate
from .rule_try import try_form, try_view

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

    builder_user = None  # set per request by the admin: whose accounts the actions offer

    categories = ticked(_("categories"), Category.choices, _("None ticked: every category."))
    severities = ticked(_("severities"), Severity.choices, _("None ticked: every severity."))

    class Meta:
        model = RoutingRule
        fields = (
            "name",
            "trigger",
            "order",
            "is_active",
            "stop_processing",
            "when_unrouted",
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

    def clean(self):
        """The form-field conditions checked against the forms of the types the rule can
        match: the types it names, else those of its categories, else every active type."""
        cleaned = super().clean()
        conditions = cleaned.get("field_conditions")
        if "field_conditions" in self.errors or not conditions:
            return cleaned
        problems = rule_registry.condition_problems(conditions, matchable_types(cleaned))
        if problems:
            self.add_error("field_conditions", problems)
        return cleaned

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Built per form, so actions registered by later apps are listed too.
        if "actions" in self.fields:
            self.fields["actions"].help_text = actions_help()
        if "field_conditions" in self.fields:
            self.fields["field_conditions"].help_text = field_conditions_help()
        if self.builder_user is not None:
            rule_builder.install(self, self.builder_user)


def matchable_types(cleaned: dict) -> list[ExceptionType]:
    """The exception types a rule with these conditions can match."""
    named = list(cleaned.get("types") or [])
    if named:
        return named
    types = ExceptionType.objects.filter(is_active=True)
    if cleaned.get("categories"):
        types = types.filter(category__in=cleaned["categories"])
    return list(types.order_by("sort_order", "name"))


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
    if rule.when_unrouted:
        parts.append(gettext("not yet routed"))
    if rule.severities:
        parts.append(gettext("severity %(v)s") % {"v": ", ".join(map(str, rule.severities))})
    for c in rule.field_conditions if isinstance(rule.field_conditions, list) else []:
        if isinstance(c, dict):
            parts.append(f"{c.get('field')} {c.get('op')} {c.get('value')!r}")
    return "; ".join(parts) or gettext("every exception")


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
                    "when_unrouted",
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

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.builder_user = request.user  # a class made for this request by the admin
        return form

    def has_change_permission(self, request, obj=None):
        # Read by whoever sees one of its sites (all, for a rule naming none); changed by who
        # sees all of them.
        if (
            obj is not None
            and not RoutingRule.objects.manageable_by(request.user).filter(pk=obj.pk).exists()
        ):
            return False
        return super().has_change_permission(request, obj)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        # A manager picks among the sites they see, and one of some sites must pick one (no
        # site is every site).
        if db_field.name == "sites":
            kwargs["queryset"] = Site.objects.visible_to(request.user).order_by("code")
            if not sees_every_site(request.user):
                kwargs["required"] = True
                kwargs["help_text"] = _("The sites it serves: at least one, of yours.")
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
        return "; ".join(describe_action(e) for e in entries)

    # --- dry run ---

    def get_urls(self):
        return [
            path(
                "dry-run/",
                self.admin_site.admin_view(self.dry_run_view),
                name="exceptions_routingrule_dry_run",
            ),
            path("try/", try_view(self), name="exceptions_routingrule_try"),
            *super().get_urls(),
        ]

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """The rule page with its "try it" panel, for who may change (or add) it."""
        extra = dict(extra_context or {})
        if self.has_add_permission(request) or self.has_change_permission(request):
            extra["try_form"] = try_form(request.user)
            extra["try_url"] = reverse("admin:exceptions_routingrule_try")
            extra["try_recent"] = recent_numbers(request.user)
        return super().changeform_view(request, object_id, form_url, extra)

    def dry_run_view(self, request):
        """Which active rules of a trigger would fire, in order, for an exception or a sample.
        A GET that reads only: nothing is saved, no action runs."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        submitted = "trigger" in request.GET
        form = DryRunForm(
            request.GET if submitted else None,
            user=request.user,
            initial=None
            if submitted
            else {k: request.GET[k] for k in ("type", "ticket") if k in request.GET},
        )
        rows = subject = outcome = None
        if submitted and form.is_valid():
            subject = form.cleaned_data["subject"]
            may_run = self.has_change_permission(request) or self.has_add_permission(request)
            rows, outcome = simulate(
                subject, form.cleaned_data["trigger"], request.user, outcome=may_run
            )
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Dry run of the routing rules"),
            "opts": self.model._meta,
            "form": form,
            "rows": rows,
            "subject": subject,
            "outcome": outcome,
            "recent": recent_numbers(request.user),
            "media": self.media + form.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/exceptions/routingrule/dry_run.html", context)
