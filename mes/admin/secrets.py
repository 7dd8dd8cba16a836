"""Write-only secrets in admin forms: a secret is never rendered back into a page. The field
says whether one is set; left blank it keeps the stored one, a new value replaces it, and
"clear" removes it."""

from __future__ import annotations

from django import forms
from django.utils.html import format_html
from django.utils.translation import gettext


class SecretInput(forms.PasswordInput):
    """An empty password box, "set"/"not set", and a clear checkbox when one is set."""

    def __init__(self, attrs=None):
        super().__init__(attrs, render_value=False)
        self.is_set = False

    @staticmethod
    def clear_name(name: str) -> str:
        return f"{name}__clear"

    def value_from_datadict(self, data, files, name):
        return (data.get(name) or "", bool(data.get(self.clear_name(name))))

    def value_omitted_from_data(self, data, files, name):
        return name not in data and self.clear_name(name) not in data

    def render(self, name, value, attrs=None, renderer=None):
        box = super().render(name, None, attrs, renderer)
        if not self.is_set:
            return format_html('{} <span class="help">{}</span>', box, gettext("not set"))
        return format_html(
            '{} <span class="help">{}</span> <label><input type="checkbox" name="{}"> {}</label>',
            box,
            gettext("set (hidden): leave empty to keep it"),
            self.clear_name(name),
            gettext("clear"),
        )


class SecretField(forms.CharField):
    """Cleans to the new secret, ``""`` to clear it, or ``None`` to keep the stored one (the
    form puts the stored one back: :class:`SecretFormMixin`)."""

    widget = SecretInput

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("strip", True)
        super().__init__(**kwargs)

    def to_python(self, value):
        new, clear = value if isinstance(value, tuple) else (value or "", False)
        if clear:
            return ""
        new = super().to_python(new)
        return new or None

    def validate(self, value):
        super().validate(value or "")

    def run_validators(self, value):
        super().run_validators(value or "")

    def has_changed(self, initial, data):
        new, clear = data if isinstance(data, tuple) else (data or "", False)
        if clear:
            return bool(initial)
        return bool(new) and new != (initial or "")


class SecretFormMixin:
    """For a ModelForm whose ``SECRETS`` fields are :class:`SecretField`: each widget knows
    whether a secret is stored, and a blank one keeps it."""

    SECRETS: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.SECRETS:
            if name in self.fields:
                self.fields[name].widget.is_set = bool(getattr(self.instance, name, ""))

    def clean(self):
        data = super().clean()
        for name in self.SECRETS:
            if name in data and data[name] is None:
                data[name] = getattr(self.instance, name, "") or ""
        return data
