"""Filters of the reconciliation page: readable durations and state names."""

from django import template
from django.utils.translation import gettext as _

from ..reconciliation import STATE_LABELS

register = template.Library()


@register.filter
def duration(seconds) -> str:
    """12.5 -> "12.5 s", 545 -> "9 min 5 s", 7384 -> "2 h 3 min", None -> "—"."""
    if seconds is None:
        return "—"
    seconds = float(seconds)
    if seconds < 60:
        return _("%(s).1f s") % {"s": seconds}
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return _("%(m)d min %(s)d s") % {"m": minutes, "s": secs}
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return _("%(h)d h %(m)d min") % {"h": hours, "m": minutes}
    return _("%(d)d d %(h)d h") % {"d": hours // 24, "h": hours % 24}


@register.filter
def state_label(state: str) -> str:
    return str(STATE_LABELS.get(state, state))
