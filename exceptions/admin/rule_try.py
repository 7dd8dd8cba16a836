"""The rule page's dry run: the rule as it is being edited, tried among the saved rules on a
sample or a real ticket, beside the builder. The edited rule is saved, the real engine run and
everything rolled back (:func:`.dry_run.simulate`): nothing is kept, nothing is sent."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils.html import format_html_join
from django.views.decorators.http import require_POST

from mes.access import users_visible_to

from ..models import RoutingRule
from ..rule_registry import unknown_users
from .dry_run import DryRunForm, simulate

PREFIX = "try"


def try_form(user, data=None) -> DryRunForm:
    return DryRunForm(data, user=user, prefix=PREFIX)


def _errors(*forms_) -> HttpResponse:
    problems = [
        f"{form.fields[name].label if name in form.fields else ''} {message}".strip()
        for form in forms_
        for name, messages in form.errors.items()
        for message in messages
    ]
    html = format_html_join("", "<li>{}</li>", ((p,) for p in problems))
    return HttpResponse(f'<ul class="errorlist" id="try-errors">{html}</ul>', status=400)


def try_rule(admin_view, request):
    """POST the rule page's form (with the ``try-`` subject): the rows and the net outcome."""
    rule_id = request.POST.get(f"{PREFIX}-rule", "")
    rule = (
        admin_view.get_queryset(request).filter(pk=int(rule_id)).first()
        if rule_id.isdigit()
        else None
    )
    allowed = (
        admin_view.has_change_permission(request, rule)
        if rule is not None
        else admin_view.has_add_permission(request)
    )
    if not allowed:
        raise PermissionDenied
    rule_form = admin_view.get_form(request, rule, change=rule is not None)(
        request.POST, instance=rule or RoutingRule()
    )
    data = request.POST.copy()
    data[f"{PREFIX}-trigger"] = request.POST.get("trigger", "raised")
    subject_form = try_form(request.user, data)
    if not (rule_form.is_valid() and subject_form.is_valid()):
        return _errors(rule_form, subject_form)
    unknown = unknown_users(rule_form.instance, users_visible_to(request.user))
    if unknown:  # told as a save tells it: never whether another site's account exists
        rule_form.add_error("actions", unknown)
        return _errors(rule_form)
    draft = {}

    def prepare():
        saved = rule_form.save(commit=False)
        saved.save()
        rule_form.save_m2m()
        draft["pk"] = saved.pk

    subject = subject_form.cleaned_data["subject"]
    rows, outcome = simulate(subject, rule_form.cleaned_data["trigger"], request.user, prepare)
    return HttpResponse(
        render_to_string(
            "admin/exceptions/routingrule/_dry_run_result.html",
            {
                "rows": rows,
                "outcome": outcome,
                "subject": subject,
                "form": subject_form,
                "opts": RoutingRule._meta,
                "draft": draft.get("pk"),
            },
            request=request,
        )
    )


def try_view(admin_view):
    return require_POST(admin_view.admin_site.admin_view(lambda r: try_rule(admin_view, r)))
