"""Template helpers for the exception links in the top bar, the floor and the work order page."""

from django import template

from exceptions import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def my_queue_count(context) -> int | None:
    """How many open tickets wait in the signed-in user's queue (None: may not see tickets)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    if not user.has_perm("exceptions.view_exceptionticket"):
        return None
    cache = getattr(request, "_andon_my_queue_count", None)
    if cache is None:
        cache = selectors.my_queue_count(user)
        request._andon_my_queue_count = cache
    return cache


@register.simple_tag(takes_context=True)
def open_exception_count(context, site, work_order=None) -> int:
    """Open tickets of a site (or of one work order) the signed-in user may see."""
    user = context["request"].user
    tickets = selectors.site_tickets(user, site, work_order=work_order)
    if work_order is not None:
        tickets = tickets.open()
    return tickets.count()


@register.simple_tag(takes_context=True)
def unread_notification_count(context) -> int | None:
    """The signed-in user's unread notifications (None: not signed in); one query per request."""
    from mes.models import Notification

    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    cache = getattr(request, "_andon_unread_count", None)
    if cache is None:
        cache = Notification.objects.filter(user=user, read_at__isnull=True).count()
        request._andon_unread_count = cache
    return cache
