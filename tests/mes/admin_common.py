"""Helpers shared by the admin tests (their fixtures: conftest.py)."""

from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from tests.admin_helpers import admin_url as _url
from tests.admin_helpers import management_form as _inline_management
from tests.admin_helpers import messages_of as _messages

__all__ = ["_action", "_inline_management", "_messages", "_url"]


def _action(client, model, action, objects, **extra):
    data = {"action": action, ACTION_CHECKBOX_NAME: [o.pk for o in objects], **extra}
    return client.post(_url(model, "changelist"), data)
