"""Who hears about quality: the site's quality role of material put on hold and of a
non-conformance opened; an action's owner of the action given to them; the owner, quality and
the managers of an action past its due date."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mes.models import OutboxEvent
from mes.notifications import Message, actor_ids, kinds, named_users_at, producers, site_members

from . import events  # noqa: F401  (the types the producers below listen to)
from .models import NonConformance, QualityHold

for _kind, _label in [
    ("quality_hold", gettext_lazy("Material put on hold at my site")),
    ("nonconformance", gettext_lazy("Non-conformance opened at my site")),
    ("nc_action", gettext_lazy("A non-conformance action given to me")),
    ("nc_action_overdue", gettext_lazy("A non-conformance action overdue")),
]:
    kinds.register(_kind, _label)

QUALITY = ("quality",)


def _lots(event: OutboxEvent) -> str:
    return ", ".join(f"{row['lot']} ({row['quantity']})" for row in event.payload.get("lots", []))


@producers.register("quality_hold.placed")
@producers.register("quality_hold.extended")
def hold_placed(event: OutboxEvent) -> list[Message]:
    hold = QualityHold.objects.select_related("site").filter(pk=event.aggregate_id).first()
    if hold is None:
        return []
    more = event.type == "quality_hold.extended"
    title = (_("%(hold)s holds more: %(reason)s") if more else _("%(hold)s: %(reason)s")) % {
        "hold": hold.number,
        "reason": hold.reason,
    }
    return [
        Message(
            "quality_hold",
            site_members(hold.site_id, QUALITY),
            roles=QUALITY,
            title=title,
            body=_lots(event),
            link=reverse("quality:hold", args=[hold.pk]),
            site=hold.site,
            related=hold,
            exclude=actor_ids(event),
        )
    ]


def _nc(event: OutboxEvent) -> NonConformance | None:
    pk = event.payload.get("nonconformance_id")
    return NonConformance.objects.select_related("site").filter(pk=pk).first()


def _nc_message(kind, nc, recipients, *, event, title, body="", roles=(), exclude=()):
    return Message(
        kind,
        recipients,
        roles=tuple(roles),
        title=title,
        body=body,
        link=reverse("quality:nonconformance", args=[nc.pk]),
        site=nc.site,
        related=nc,
        exclude=actor_ids(event, *exclude),
    )


@producers.register("nonconformance.opened")
def nonconformance_opened(event: OutboxEvent) -> list[Message]:
    nc = _nc(event)
    if nc is None:
        return []
    return [
        _nc_message(
            "nonconformance",
            nc,
            site_members(nc.site_id, QUALITY),
            event=event,
            title=f"{nc.number} {nc.title}",
            body=nc.description,
            roles=QUALITY,
        )
    ]


@producers.register("nonconformance.changed")
def action_given(event: OutboxEvent) -> list[Message]:
    """A new action: its owner is told (a completed one tells nobody)."""
    action = event.payload.get("action") or {}
    nc = _nc(event) if action and not action.get("done_at") else None
    if nc is None:
        return []
    return [
        _nc_message(
            "nc_action",
            nc,
            named_users_at(nc.site_id, [action["owner"]]),
            event=event,
            title=_("%(nc)s: an action for you") % {"nc": nc.number},
            body=_("%(action)s, due %(due)s")
            % {"action": action["description"], "due": action["due_at"][:10]},
        )
    ]


@producers.register("nc_action.overdue")
def action_overdue(event: OutboxEvent) -> list[Message]:
    """The owner, and the site's quality and managers: the action is late."""
    action = event.payload.get("action") or {}
    nc = _nc(event) if action else None
    if nc is None:
        return []
    title = _("%(nc)s: action overdue (%(owner)s)") % {"nc": nc.number, "owner": action["owner"]}
    body = _("%(action)s, due %(due)s") % {
        "action": action["description"],
        "due": action["due_at"][:10],
    }
    roles = ("quality", "manager")
    return [
        _nc_message(
            "nc_action_overdue",
            nc,
            named_users_at(nc.site_id, [action["owner"]]),
            event=event,
            title=title,
            body=body,
        ),
        _nc_message(
            "nc_action_overdue",
            nc,
            site_members(nc.site_id, roles),
            event=event,
            title=title,
            body=body,
            roles=roles,
            exclude=[action.get("owner_id")],  # told above, once
        ),
    ]
