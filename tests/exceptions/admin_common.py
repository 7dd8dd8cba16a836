"""Helpers shared by the admin tests (their fixtures: conftest.py)."""

from django.apps import apps

from exceptions.models import (
    ExceptionType,
)
from tests.admin_helpers import admin_url as _url
from tests.admin_helpers import management_form as _management
from tests.admin_helpers import messages_of as _messages

__all__ = ["DRY_RUN", "_management", "_messages", "_row_counts", "_rule_data", "_type_data", "_url"]

DRY_RUN = "admin:exceptions_routingrule_dry_run"


def _type_data(t: ExceptionType, **changes):
    data = {
        "code": t.code,
        "name": t.name,
        "category": t.category,
        "description": t.description,
        "is_active": "on" if t.is_active else "",
        "default_severity": t.default_severity,
        "workflow": str(t.workflow_id),
        "icon": t.icon,
        "colour": t.colour,
        "sort_order": str(t.sort_order),
        "form_schema": '{"properties": {}}',
    }
    data.update(changes)
    return data


def _rule_data(**changes):
    data = {
        "name": "Big shortages are critical",
        "trigger": "raised",
        "order": "15",
        "is_active": "on",
        "categories": ["shortage"],
        "field_conditions": '[{"field": "qty_missing", "op": "greater", "value": 100}]',
        "actions": '[{"action": "set_severity", "severity": "critical"}]',
    }
    data.update(changes)
    return data


def _row_counts() -> dict[str, int]:
    """Rows of every table of the apps a rule could touch (tickets, timeline, outbox, history)."""
    return {
        model._meta.label: model._default_manager.count()
        for app in ("exceptions", "mes", "auth")
        for model in apps.get_app_config(app).get_models()
    }
