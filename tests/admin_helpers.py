"""Helpers of the admin tests of every app: URLs, messages, inline management forms."""

from django.contrib.messages import get_messages
from django.urls import reverse


def admin_url(model, view: str, *args) -> str:
    """``admin_url(WorkOrder, "change", pk)`` -> /admin/mes/workorder/<pk>/change/."""
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def management_form(prefix: str, total: int = 0, initial: int = 0) -> dict:
    """The management form of an inline formset with ``total`` forms, ``initial`` of them
    existing rows."""
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def assert_admin_pages_open(client, record) -> None:
    """The changelist, change and history pages of ``record`` answer 200 and show it."""
    model = type(record)
    for view, args in (("changelist", ()), ("change", (record.pk,)), ("history", (record.pk,))):
        page = client.get(admin_url(model, view, *args))
        assert page.status_code == 200, (model, view)
        if view == "change":
            assert str(record) in page.content.decode()


def endpoint_form(endpoint=None, **changes) -> dict:
    """The ERP endpoint admin form's data: ``endpoint``'s values (a new REST endpoint when
    None; secrets left blank, which keeps them), with ``changes``."""
    data = {
        "name": "Mine",
        "adapter": "rest",
        "base_url": "https://93.184.215.14/hook",  # public: the address is not the point here
        "auth_header": "Authorization",
        "auth_value": "",
        "hmac_secret": "",
        "event_types": ["work_order.held"],
        "mapping": "{}",
        "options": "{}",
        "max_attempts": "8",
        "timeout_seconds": "10",
        "is_active": "on",
    }
    if endpoint is not None:
        data.update(
            name=endpoint.name,
            base_url=endpoint.base_url,
            sites=[str(s.pk) for s in endpoint.sites.all()],
        )
    data.update(changes)
    return data
