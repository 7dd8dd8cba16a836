"""Template tags of every page: the slots other apps fill, and the bell's unread count."""

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from mes.models import Notification
from mes.pages import slots

register = template.Library()


@register.simple_tag(takes_context=True)
def slot(context, name: str):
    """The partial templates the apps registered for slot ``name`` (``mes.pages.slots``),
    rendered with the page's context: how a capability adds its buttons to the core's pages
    without editing them."""
    templates = slots.get(name, ())
    if not templates:
        return ""
    values = context.flatten()
    request = context.get("request")
    return mark_safe(  # noqa: S308 - rendered templates, escaped by Django
        "".join(render_to_string(t, values, request=request) for t in templates)
    )


@register.simple_tag(takes_context=True)
def unread_notification_count(context) -> int | None:
    """The signed-in user's unread notifications (None: not signed in); one query per request."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    cache = getattr(request, "_andon_unread_count", None)
    if cache is None:
        cache = Notification.objects.filter(user=user, read_at__isnull=True).count()
        request._andon_unread_count = cache
    return cache


@register.simple_tag
def websocket_url() -> str:
    """Where the pages open their websockets: ``WEBSOCKET_URL`` (``ws://host:port`` of the
    ASGI server when it is not behind the same origin), else this page's own origin."""
    from django.conf import settings

    return settings.ANDON_WEBSOCKET_URL


@register.filter
def percent(value) -> str:
    """A ratio as a percentage with one decimal (0.8778 -> "87.8 %"); none: a dash."""
    if value is None or value == "":
        return "—"
    return f"{float(value) * 100:.1f} %"
