"""Helpers shared by the notifications tests (their fixtures: conftest.py)."""

from exceptions import services as exc
from exceptions.models import ExceptionType
from mes.models import Notification

IN_MEMORY = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


def kinds_of(user) -> list[str]:
    return sorted(Notification.objects.filter(user=user).values_list("kind", flat=True))


def raise_shortage(site, actor, **kwargs):
    return exc.raise_exception(
        actor=actor,
        exception_type=ExceptionType.objects.get(code="material_shortage"),
        site=site,
        data={"material": "RM-1", "qty_missing": 40},
        **kwargs,
    )


def _note(user, kind="raised", title="t"):
    return Notification.objects.create(user=user, kind=kind, title=title)
