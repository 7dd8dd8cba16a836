"""Forms of the floor pages. The type's form is built from its JSON schema, so a field a manager
adds in the admin appears on the phone without a deploy.

The Django form gives the browser the right inputs and a first check; the service validates the
same data against the schema again (always), and its field errors are put back on these fields.
"""

from __future__ import annotations

import datetime
import json
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from .choices import Severity
from .fields import enum_field, field_types
from .models import ExceptionType
from .pickers import picker_of, suggestions
from .schema import field_label, show_if, shown
from .schema import fields as schema_fields


def _label(name: str, spec: dict) -> str:
    label = field_label(name, spec)
    return label if label != name else name.replace("_", " ").capitalize()


def schema_field(name: str, spec: dict, ftype: str, required: bool) -> forms.Field:
    """One Django form field for one schema field; limits become validators and HTML attrs."""
    common = {
        "label": _label(name, spec),
        "required": required,
        "help_text": spec.get("description", ""),
    }
    if "default" in spec:
        common["initial"] = spec["default"]
    if "enum" in spec:
        return enum_field(spec, common)
    field = field_types[ftype].form_field(spec, common)
    field.unit = spec.get("x-unit", "")
    return field


class SchemaForm(forms.Form):
    """The fields of one exception type's form schema, in schema order (HTML names prefixed
    ``data-`` so they never clash with the ticket's own fields). A field with a show-if is
    shown by the page's script only while its condition holds, is never required here (the
    service requires it when shown) and its value is dropped when it is not shown."""

    def __init__(self, exception_type: ExceptionType, *args, site=None, **kwargs):
        kwargs.setdefault("prefix", "data")
        super().__init__(*args, **kwargs)
        self.exception_type = exception_type
        self.kinds: dict[str, str] = {}
        self.specs: dict[str, dict] = {}
        for name, spec, ftype, required in schema_fields(exception_type.form_schema):
            condition = show_if(spec)
            field = schema_field(name, spec, ftype, required and condition is None)
            if condition is not None:
                field.show_if = json.dumps(
                    {"field": f"{self.prefix}-{condition['field']}", "equals": condition["equals"]}
                )
                field.required_when_shown = required
            if picker_of(spec) and site is not None:  # the site's records, as suggestions
                field.suggestions = suggestions(spec, site)
                field.widget.attrs["list"] = f"id_{self.prefix}-{name}-list"
            self.fields[name] = field
            self.kinds[name] = "enum" if "enum" in spec else ftype
            self.specs[name] = spec

    def json_data(self) -> dict:
        """The cleaned values as the JSON types the schema asks for; empty optional fields are
        left out (a boolean is always there: unticked means false)."""
        data = {}
        for name, value in self.cleaned_data.items():
            if value is None or value == "" or value == []:
                continue
            if isinstance(value, Decimal):
                value = float(value)
            elif isinstance(value, datetime.date | datetime.datetime):
                value = value.isoformat()
            data[name] = value
        return {name: v for name, v in data.items() if shown(self.specs[name], data)}

    def add_schema_errors(self, errors: dict[str, list[str]]) -> None:
        """Put the service's schema errors on the fields they name (others on the form)."""
        for name, messages in errors.items():
            for message in messages:
                self.add_error(name if name in self.fields else None, message)


class RaiseForm(forms.Form):
    """What every ticket has besides its type's fields: severity and a description."""

    severity = forms.ChoiceField(
        label=_("Severity"), choices=Severity.choices, widget=forms.RadioSelect
    )
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What happened? Optional."),
    )

    def __init__(self, exception_type: ExceptionType, *args, **kwargs):
        kwargs.setdefault("initial", {"severity": exception_type.default_severity})
        super().__init__(*args, **kwargs)
