"""Helpers shared by the admin tests (their fixtures: conftest.py)."""

from django.apps import apps
from django.contrib.messages import get_messages
from django.urls import reverse

from exceptions.models import (
    ExceptionType,
)


def _url(model, view, *args):
    return reverse(f"admin:exceptions_{model._meta.model_name}_{view}", args=args)


DRY_RUN = "admin:exceptions_routingrule_dry_run"


def _messages(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def _management(prefix, total=0, initial=0):
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


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
