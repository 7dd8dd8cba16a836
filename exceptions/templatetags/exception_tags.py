"""Template helpers of the exception links this app adds to the core's pages (its slots)."""

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
