"""The "new exception type" wizard: four steps on one page (the type and its form, its
workflow from a template or an existing one, its SLA and escalation, its routing), saved
together through the services in one transaction (nothing half-made when one step is
refused), ending in the dry run of a sample raise of the new type."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mes.admin.base import ticked
from mes.errors import DomainError
from mes.roles import ROLES

from .. import services
from ..choices import Severity
from ..models import (
    EscalationLevel,
    EscalationPolicy,
    ExceptionType,
    RoutingRule,
    SlaPolicy,
    Workflow,
)
from .form_builder import FormBuilderWidget

ROLE_CHOICES = [(r, r) for r in ROLES]


class TypeStep(forms.ModelForm):
    class Meta:
        model = ExceptionType
        fields = ("code", "name", "category", "description", "default_severity", "icon", "colour")
        fields += ("form_schema",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="type", **kwargs)
        self.fields["form_schema"].widget = FormBuilderWidget(
            preview_url=reverse("admin:exceptions_exceptiontype_preview")
        )
        self.fields["form_schema"].label = _("Form")


class WorkflowStep(forms.Form):
    how = forms.ChoiceField(
        label=_("Workflow"),
        choices=[("use", _("Use an existing workflow")), ("copy", _("Start from a copy of one"))],
        initial="use",
        widget=forms.RadioSelect,
    )
    workflow = forms.ModelChoiceField(
        label=_("Workflow or template"), queryset=Workflow.objects.order_by("code")
    )
    copy_code = forms.SlugField(label=_("Code of the copy"), max_length=40, required=False)
    copy_name = forms.CharField(label=_("Name of the copy"), max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="workflow", **kwargs)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("how") == "copy":
            code = cleaned.get("copy_code")
            if not code:
                self.add_error("copy_code", gettext("Name the copy's code."))
            elif Workflow.objects.filter(code=code).exists():
                self.add_error("copy_code", gettext("A workflow has this code."))
        return cleaned


class ClockStep(forms.Form):
    escalate_after = forms.IntegerField(
        label=_("Escalate after (min without acknowledge)"), min_value=1, required=False
    )
    escalate_to = ticked(_("Tell"), ROLE_CHOICES)
    escalate_again_after = forms.IntegerField(
        label=_("Escalate again after (min)"), min_value=1, required=False
    )
    escalate_again_to = ticked(_("Then tell"), ROLE_CHOICES)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="clock", **kwargs)
        for severity, label in Severity.choices:
            for clock, words in (
                ("ack", _("acknowledge within")),
                ("resolve", _("resolve within")),
            ):
                self.fields[f"{clock}_{severity}"] = forms.IntegerField(
                    label=f"{label}: {words} (min)", min_value=1, required=False
                )

    def clean(self):
        cleaned = super().clean()
        for after, to in (
            ("escalate_after", "escalate_to"),
            ("escalate_again_after", "escalate_again_to"),
        ):
            if cleaned.get(after) and not cleaned.get(to):
                self.add_error(to, gettext("Tick whom to tell."))
        first, again = cleaned.get("escalate_after"), cleaned.get("escalate_again_after")
        if again and (not first or again <= first):
            self.add_error("escalate_again_after", gettext("Later than the first escalation."))
        return cleaned

    def targets(self):
        for severity, _label in Severity.choices:
            ack = self.cleaned_data.get(f"ack_{severity}")
            resolve = self.cleaned_data.get(f"resolve_{severity}")
            if ack or resolve:
                yield severity, ack, resolve


class RoutingStep(forms.Form):
    queue = forms.ChoiceField(
        label=_("Put it in the queue of"),
        choices=[("", _("(no queue: leave it to the other rules)")), *ROLE_CHOICES],
        required=False,
    )
    notify = ticked(_("Tell at the site"), ROLE_CHOICES)
    hold_work_order = forms.BooleanField(label=_("Put its work order on hold"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="routing", **kwargs)

    def actions(self) -> list[dict]:
        data, actions = self.cleaned_data, []
        if data.get("queue"):
            actions.append({"action": "assign_role", "role": data["queue"]})
        if data.get("notify"):
            actions.append({"action": "notify_roles", "roles": list(data["notify"])})
        if data.get("hold_work_order"):
            actions.append({"action": "hold_work_order"})
        return actions


def _save(user, steps) -> ExceptionType:
    type_step, workflow_step, clock_step, routing_step = steps
    reason = gettext("new type wizard")
    chosen = workflow_step.cleaned_data
    workflow = chosen["workflow"]
    if chosen["how"] == "copy":
        workflow = services.copy_workflow(
            workflow,
            code=chosen["copy_code"],
            name=chosen["copy_name"] or chosen["copy_code"],
            actor=user,
            reason=reason,
        )
    exception_type = type_step.save(commit=False)
    exception_type.workflow = workflow
    exception_type.full_clean()
    services.save_exception_type(exception_type, actor=user, reason=reason)
    for severity, ack, resolve in clock_step.targets():
        services.save_sla_policy(
            SlaPolicy(
                type=exception_type,
                severity=severity,
                acknowledge_minutes=ack,
                resolve_minutes=resolve,
            ),
            actor=user,
            reason=reason,
        )
    clock = clock_step.cleaned_data
    if clock.get("escalate_after"):
        policy = EscalationPolicy(name=f"{exception_type.name}"[:190] + " ladder", order=100)
        levels = [
            EscalationLevel(
                policy=policy,
                level=n,
                clock=EscalationLevel.Clock.ACKNOWLEDGE,
                after_minutes=clock[after],
                notify_roles=list(clock[to]),
            )
            for n, after, to in (
                (1, "escalate_after", "escalate_to"),
                (2, "escalate_again_after", "escalate_again_to"),
            )
            if clock.get(after)
        ]
        services.save_escalation_policy(
            policy,
            actor=user,
            reason=reason,
            children=levels,
            after_save=[lambda: policy.types.set([exception_type])],
        )
    actions = routing_step.actions()
    if actions:
        rule = RoutingRule(name=f"{exception_type.name}: routing"[:200], order=15, actions=actions)
        services.save_routing_rule(
            rule, actor=user, reason=reason, after_save=[lambda: rule.types.set([exception_type])]
        )
    return exception_type


def wizard_view(admin_view):
    def view(request):
        if not admin_view.has_add_permission(request):
            raise PermissionDenied
        data = request.POST if request.method == "POST" else None
        steps = [TypeStep(data), WorkflowStep(data), ClockStep(data), RoutingStep(data)]
        refused = ""
        if data is not None and all([step.is_valid() for step in steps]):
            try:
                with transaction.atomic():
                    created = _save(request.user, steps)
            except DomainError as exc:
                refused = exc.detail
            except forms.ValidationError as exc:
                refused = "; ".join(exc.messages)
            else:
                messages.success(
                    request,
                    gettext("%(name)s is ready. Try a raise of it here, then on the floor.")
                    % {"name": created.name},
                )
                dry_run = reverse("admin:exceptions_routingrule_dry_run")
                return HttpResponseRedirect(f"{dry_run}?type={created.pk}")
        context = {
            **admin_view.admin_site.each_context(request),
            "title": gettext("New exception type"),
            "opts": admin_view.model._meta,
            "steps": [
                (gettext("The type and its form"), steps[0]),
                (gettext("Its workflow"), steps[1]),
                (gettext("Its clock: SLA and escalation"), steps[2]),
                (gettext("Its routing"), steps[3]),
            ],
            "refused": refused,
            "media": sum((s.media for s in steps), forms.Media()),
        }
        request.current_app = admin_view.admin_site.name
        return TemplateResponse(request, "admin/exceptions/exceptiontype/wizard.html", context)

    return admin_view.admin_site.admin_view(view)
