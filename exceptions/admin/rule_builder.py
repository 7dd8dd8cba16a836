"""The rule builder of the routing rule page: conditions and actions as rows.

As with the form builder (:mod:`.form_builder`), the JSON fields stay what is posted and stored:
``static/exceptions/rule_builder.js`` draws rows from the textarea and writes it back on every
change; the "advanced" switch shows the JSON. The rows offer what the registries and the
configuration hold: the form fields of the types the rule can match (with their types and
choices), the operators that mean something for each field type, the actions with their
parameters as dropdowns (roles, severities, the accounts the manager sees).
"""

from __future__ import annotations

import json

from django import forms
from django.template.loader import render_to_string
from django.utils.translation import gettext

from mes.access import users_visible_to
from mes.roles import ROLES

from .. import rule_registry
from ..choices import FieldOperator, Severity
from ..models import ExceptionType
from ..schema import fields as schema_fields

MAX_USERS = 1000  # accounts offered for "assign to a user" (more: typed, checked on save)


def vocabulary(user) -> dict:
    """What the rows may offer, for ``user`` (the accounts are those they see)."""
    types = [
        {
            "id": t.pk,
            "name": t.name,
            "category": t.category,
            "active": t.is_active,
            "fields": [
                {
                    "name": name,
                    "label": spec.get("title") or name,
                    "kind": kind,
                    "options": rule_registry.field_options(spec),
                }
                for name, spec, kind, _required in schema_fields(t.form_schema)
            ],
        }
        for t in ExceptionType.objects.order_by("sort_order", "name")
    ]
    kinds = {f["kind"] for t in types for f in t["fields"]}
    return {
        "types": types,
        "operators": {kind: list(rule_registry.operators_for(kind)) for kind in kinds},
        "operator_labels": {op.value: str(op.label) for op in FieldOperator},
        "actions": [
            {
                "name": action.name,
                "label": str(action.label),
                "params": [
                    {
                        "name": name,
                        "kind": param.kind if isinstance(param.kind, str) else param.kind.__name__,
                        "required": param.required,
                    }
                    for name, param in action.params.items()
                ],
            }
            for action in (
                rule_registry.actions.get(n) for n, _l in rule_registry.actions.choices()
            )
        ],
        "roles": list(ROLES),
        "severities": [[value, str(label)] for value, label in Severity.choices],
        "users": list(
            users_visible_to(user)
            .filter(is_active=True)
            .order_by("username")
            .values_list("username", flat=True)[:MAX_USERS]
        ),
        "text": {
            "field": gettext("Form field"),
            "op": gettext("Compared"),
            "value": gettext("Value"),
            "yes": gettext("yes"),
            "no": gettext("no"),
            "remove": gettext("Remove"),
            "action": gettext("Action"),
            "not_in_types": gettext("%(field)s (no type of this rule has it)"),
            "of_types": gettext("%(label)s (%(types)s)"),
            "lines": gettext("one per line"),
            "json_error": gettext("Not valid JSON yet: %(error)s"),
            "no_fields": gettext("The types this rule matches have no form fields."),
        },
        "param_labels": {
            "role": gettext("Role"),
            "roles": gettext("Roles"),
            "severity": gettext("Severity"),
            "username": gettext("User"),
        },
    }


class RuleRowsWidget(forms.Textarea):
    """A JSON list drawn as rows: ``kind`` is "conditions" or "actions"."""

    template = "admin/exceptions/routingrule/rule_builder.html"

    class Media:
        js = ("exceptions/builder.js", "exceptions/rule_builder.js")
        css = {"all": ("exceptions/form_builder.css",)}

    def __init__(self, kind: str, vocabulary_json: str, attrs=None):
        super().__init__(attrs={"rows": 4, "cols": 90, "class": "vLargeTextField", **(attrs or {})})
        self.kind = kind
        self.vocabulary_json = vocabulary_json

    def render(self, name, value, attrs=None, renderer=None):
        return render_to_string(
            self.template,
            {
                "textarea": super().render(name, value, attrs, renderer),
                "kind": self.kind,
                "vocabulary": self.vocabulary_json,
                "add_label": gettext("+ Add a condition")
                if self.kind == "conditions"
                else gettext("+ Add an action"),
            },
        )


def install(form, user) -> None:
    """Give the rule form's JSON fields their rows (those who may edit them)."""
    words = json.dumps(vocabulary(user))
    for name, kind in (("field_conditions", "conditions"), ("actions", "actions")):
        if name in form.fields:
            form.fields[name].widget = RuleRowsWidget(kind, words)
