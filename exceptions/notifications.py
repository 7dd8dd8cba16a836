"""Who hears about exception tickets: the notification kinds and producers of this app."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mes.models import OutboxEvent
from mes.notifications import Message, actor_ids, kinds, named_users_at, producers, site_members

from . import events  # noqa: F401  (the types the producers below listen to)
from .models import ExceptionTicket

for _kind, _label in [
    ("raised", gettext_lazy("Exception raised")),
    ("routed", gettext_lazy("Routed to my role")),
    ("assigned", gettext_lazy("Assigned to me")),
    ("escalated", gettext_lazy("Escalated to me")),
    ("resolved", gettext_lazy("My exception resolved")),
]:
    kinds.register(_kind, _label)


def _ticket(event: OutboxEvent) -> ExceptionTicket | None:
    return (
        ExceptionTicket.objects.select_related("site", "type", "work_order", "queue", "assignee")
        .filter(pk=event.payload.get("exception_id") or event.aggregate_id)
        .first()
    )


def _ticket_text(ticket) -> tuple[str, str]:
    """A title naming the ticket and what it is about, a body with its description."""
    about = f" — {ticket.work_order.erp_number}" if ticket.work_order_id else ""
    title = f"{ticket.number} {ticket.type.name}{about}"
    body = ticket.description or ", ".join(f"{k}: {v}" for k, v in (ticket.data or {}).items())
    return title, f"[{ticket.severity}] {body}".strip()


def _ticket_message(kind: str, ticket, recipients, *, event, prefix: str, exclude=(), roles=()):
    title, body = _ticket_text(ticket)
    return Message(
        kind,
        recipients,
        roles=tuple(roles),
        title=f"{prefix}: {title}",
        body=body,
        link=reverse("exceptions:detail", args=[ticket.pk]),
        site=ticket.site,
        related=ticket,
        exclude=actor_ids(event, *exclude),
    )


@producers.register("exception.notified")
def exception_notified(event: OutboxEvent) -> list[Message]:
    """A rule's ``notify_roles``: the roles at the ticket's site hear it was raised."""
    ticket = _ticket(event)
    if ticket is None:
        return []
    roles = tuple(event.payload.get("roles") or ())
    members = site_members(ticket.site_id, roles)
    return [
        _ticket_message(
            "raised",
            ticket,
            members,
            event=event,
            prefix=_("Raised"),
            exclude=[ticket.raised_by_id],
            roles=roles,
        )
    ]


@producers.register("exception.routed")
@producers.register("exception.updated")
def exception_routed(event: OutboxEvent) -> list[Message]:
    """Into a role's queue: that role at the site; to an assignee: that user. Only where the
    ticket still is when the event is relayed: of several rules routing one raise in turn,
    only the final queue hears of it (not a catch-all's queue that a later rule replaced)."""
    changed = set(event.payload.get("changed") or [])
    if not changed & {"queue", "assignee"}:
        return []
    ticket = _ticket(event)
    if ticket is None:
        return []
    messages = []
    queue = event.payload.get("queue")
    if "queue" in changed and queue and ticket.queue is not None and ticket.queue.name == queue:
        messages.append(
            _ticket_message(
                "routed",
                ticket,
                site_members(ticket.site_id, [queue]),
                event=event,
                prefix=_("In the %(role)s queue") % {"role": queue},
                roles=(queue,),
            )
        )
    assignee = event.payload.get("assignee")
    still_assigned = ticket.assignee is not None and ticket.assignee.get_username() == assignee
    if "assignee" in changed and assignee and still_assigned:
        messages.append(
            _ticket_message(
                "assigned",
                ticket,
                named_users_at(ticket.site_id, [assignee]),
                event=event,
                prefix=_("Assigned to you"),
            )
        )
    return messages


@producers.register("exception.escalated")
def exception_escalated(event: OutboxEvent) -> list[Message]:
    """An escalation level fired: its roles at the site and its named users."""
    ticket = _ticket(event)
    if ticket is None:
        return []
    roles = tuple(event.payload.get("roles") or ())
    members = list(site_members(ticket.site_id, roles))
    named = [
        u
        for u in named_users_at(ticket.site_id, event.payload.get("users") or [])
        if u.pk not in {m.pk for m in members}
    ]
    prefix = _("Escalated (level %(level)s)") % {"level": event.payload.get("level")}
    return [
        _ticket_message("escalated", ticket, members, event=event, prefix=prefix, roles=roles),
        _ticket_message("escalated", ticket, named, event=event, prefix=prefix),
    ]


@producers.register("exception.resolved")
def exception_resolved(event: OutboxEvent) -> list[Message]:
    """Resolved: the person who raised it hears so (unless they resolved it themselves)."""
    ticket = _ticket(event)
    if ticket is None or ticket.raised_by is None:
        return []
    return [
        _ticket_message("resolved", ticket, [ticket.raised_by], event=event, prefix=_("Resolved"))
    ]
