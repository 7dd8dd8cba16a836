"""The form builder of the exception type page: a row per field, a live phone-sized preview.

The stored form stays standard JSON Schema (:mod:`exceptions.schema`): the builder
(``exceptions/static/exceptions/form_builder.js``) reads the schema from the form's textarea
and writes it back on every change, so what is saved is what the JSON editor (behind the
"advanced" switch) shows, and a browser without scripts still gets the JSON editor. The
preview asks :func:`preview` for the floor's own rendering of the form being edited, with
what is wrong with it, as the manager types.
"""

from __future__ import annotations

import json

from django import forms
from django.conf import settings
from django.template.loader import render_to_string
from django.utils.translation import gettext

from ..choices import Severity
from ..fields import field_types
from ..forms import RaiseForm, SchemaForm
from ..models import ExceptionType, Workflow
from ..schema import SHOW_IF, schema_problems
from .json_endpoint import json_endpoint
from .type_summary import change_impact

MAX_BODY = 200_000  # bytes of schema the preview reads


class FormBuilderWidget(forms.Textarea):
    """The JSON textarea, with the builder and the preview drawn around it by the script."""

    builder_template = "admin/exceptions/exceptiontype/form_builder.html"

    class Media:
        js = ("exceptions/builder.js", "exceptions/form_builder.js")
        css = {"all": ("exceptions/form_builder.css",)}

    def __init__(self, preview_url: str = "", attrs=None):
        super().__init__(
            attrs={"rows": 16, "cols": 90, "class": "vLargeTextField", **(attrs or {})}
        )
        self.preview_url = preview_url

    def render(self, name, value, attrs=None, renderer=None):
        textarea = super().render(name, value, attrs, renderer)
        return render_to_string(
            self.builder_template,
            {
                "textarea": textarea,
                "types": json.dumps(
                    [ftype.builder(type_name) for type_name, ftype in field_types.items()]
                ),
                "preview_url": self.preview_url,
                "show_if": SHOW_IF,
                "text": json.dumps(builder_texts()),
            },
        )


def builder_texts() -> dict:
    """The builder's words, translated here (the script has no catalogue of its own)."""
    return {
        "label": gettext("Label"),
        "name": gettext("Stored as"),
        "type": gettext("Type"),
        "required": gettext("Required"),
        "help": gettext("Help text"),
        "default": gettext("Default"),
        "no_default": gettext("(none)"),
        "options": gettext("Choices, one per line"),
        "max_length": gettext("Longest"),
        "minimum": gettext("Lowest"),
        "maximum": gettext("Highest"),
        "unit": gettext("Unit"),
        "decimals": gettext("Decimals"),
        "show_if": gettext("Shown"),
        "always": gettext("always"),
        "when": gettext("when %(field)s is"),
        "yes": gettext("yes"),
        "no": gettext("no"),
        "up": gettext("Move up"),
        "down": gettext("Move down"),
        "remove": gettext("Remove"),
        "new_field": gettext("New field"),
        "json_error": gettext("Not valid JSON yet: %(error)s"),
        "label_in": gettext("Label in %(language)s"),
        "languages": [
            [code, str(name)] for code, name in settings.LANGUAGES if code != settings.LANGUAGE_CODE
        ],
        "renamed": gettext(
            "Renaming a stored field: tickets raised before keep their value under the old name."
        ),
    }


def preview(request, payload: dict) -> dict:
    """``{"schema": {...}}`` -> ``{"problems": [...], "html": "..."}``: the form as the floor
    renders it (a whole page for the preview's frame), or what is wrong with it."""
    schema = payload.get("schema", {})
    problems = schema_problems(schema)
    html = ""
    if not problems:
        sample = ExceptionType(
            name=gettext("Preview"), form_schema=schema or {}, default_severity=Severity.MEDIUM
        )
        sample.workflow = Workflow(code="preview", name="preview")
        html = render_to_string(
            "admin/exceptions/exceptiontype/form_builder_preview.html",
            {"data_form": SchemaForm(sample), "form": RaiseForm(sample), "type": sample},
            request=request,
        )
    impact = []
    type_id = request.GET.get("type", "")
    if not problems and type_id.isdigit():
        stored = ExceptionType.objects.filter(pk=int(type_id)).select_related("workflow").first()
        if stored is not None:
            impact = change_impact(stored, schema or {}, request.user)
    return {"problems": [str(p) for p in problems], "html": html, "impact": impact}


def preview_view(admin_view):
    return json_endpoint(admin_view, preview, limit=MAX_BODY, shape='{"schema": {...}}')
