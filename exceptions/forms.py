"""Forms of the floor pages. The type's form is built from its JSON schema, so a field a manager
adds in the admin appears on the phone without a deploy.

The Django form gives the browser the right inputs and a first check; the service validates the
same data against the schema again (always), and its field errors are put back on these fields.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from .choices import Severity
from .fields import field_types
from .models import ExceptionType
from .schema import fields as schema_fields

# Up to this many choices an enum is a column of big radio buttons; more become a select.
RADIO_LIMIT = 8


def _label(name: str, spec: dict) -> str:
    return str(spec.get("title") or name.replace("_", " ").capitalize())


def _enum_field(spec: dict, common: dict) -> forms.Field:
    values = spec["enum"]
    choices = [(str(v), str(v)) for v in values]
    widget = forms.RadioSelect if len(choices) <= RADIO_LIMIT else forms.Select
    if widget is forms.Select or not common["required"]:
        choices = [("", "—"), *choices]
    return forms.TypedChoiceField(
        choices=choices,
        coerce=dict(zip([str(v) for v in values], values, strict=True)).__getitem__,
        empty_value=None,
        widget=widget,
        **common,
    )


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
        return _enum_field(spec, common)
    return field_types[ftype].form_field(spec, common)


class SchemaForm(forms.Form):
    """The fields of one exception type's form schema, in schema order (HTML names prefixed
    ``data-`` so they never clash with the ticket's own fields)."""

    def __init__(self, exception_type: ExceptionType, *args, **kwargs):
        kwargs.setdefault("prefix", "data")
        super().__init__(*args, **kwargs)
        self.exception_type = exception_type
        self.kinds: dict[str, str] = {}
        for name, spec, ftype, required in schema_fields(exception_type.form_schema):
            self.fields[name] = schema_field(name, spec, ftype, required)
            self.kinds[name] = "enum" if "enum" in spec else ftype

    def json_data(self) -> dict:
        """The cleaned values as the JSON types the schema asks for; empty optional fields are
        left out (a boolean is always there: unticked means false)."""
        data = {}
        for name, value in self.cleaned_data.items():
            if value is None or value == "":
                continue
            if isinstance(value, Decimal):
                value = float(value)
            elif isinstance(value, datetime.date | datetime.datetime):
                value = value.isoformat()
            data[name] = value
        return data

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
