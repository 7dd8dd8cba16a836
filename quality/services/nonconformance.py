"""Non-conformances: open one (from a failed inspection, a ticket or by hand), record its
root cause and containment, and the actions that close it."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mes.access import can_access_site
from mes.errors import DomainError, InvalidInput, NotPermitted
from mes.outbox import emit_event
from mes.services.base import authorize, default_reason, require_reason, save_with_history

from ..models import NcAction, NonConformance

_TEXT = {
    "title": 200,
    "supplier": 200,
    "description": 5000,
    "root_cause": 5000,
    "containment": 5000,
}


def _check_text(**values) -> None:
    too_long = {
        k: [_("At most %(n)s characters.") % {"n": _TEXT[k]}]
        for k, v in values.items()
        if v is not None and len(v) > _TEXT[k]
    }
    if too_long:
        raise InvalidInput(_("Too long."), code="too_long", fields=too_long)


def nc_payload(nc: NonConformance, **extra) -> dict:
    return {
        "nonconformance": nc.number,
        "nonconformance_id": nc.pk,
        "site": nc.site.code,
        "title": nc.title,
        "status": nc.status,
        "item": nc.item.code if nc.item_id else None,
        "work_order": nc.work_order.erp_number if nc.work_order_id else None,
        "supplier": nc.supplier,
        **extra,
    }


def action_payload(action: NcAction) -> dict:
    return {
        "id": action.pk,
        "kind": action.kind,
        "description": action.description,
        "owner": action.owner.username,
        "owner_id": action.owner_id,
        "due_at": action.due_at.isoformat(),
        "done_at": action.done_at.isoformat() if action.done_at else None,
    }


def open_nonconformance(
    *,
    site,
    title: str,
    actor,
    description: str = "",
    item=None,
    work_order=None,
    lots=(),
    supplier: str = "",
    ticket=None,
) -> NonConformance:
    authorize(actor, "quality.add_nonconformance", site)
    title = (title or "").strip()
    if not title:
        raise InvalidInput(
            _("A non-conformance needs a title."),
            code="title_required",
            fields={"title": [_("This field is required.")]},
        )
    _check_text(title=title, description=description, supplier=supplier)
    lots = list(lots)
    if any(lot.site_id != site.pk for lot in lots) or (
        work_order and work_order.site_id != site.pk
    ):
        raise InvalidInput(_("Lots and order must be of the site."), code="wrong_site")
    with transaction.atomic():
        nc = save_with_history(
            NonConformance(
                site=site,
                title=title,
                description=description,
                item=item,
                work_order=work_order,
                supplier=supplier or next((lot.supplier for lot in lots if lot.supplier), ""),
                ticket=ticket,
                opened_by=actor if actor is not None and actor.is_authenticated else None,
            ),
            actor=actor,
            reason="opened",
        )
        if lots:
            nc.lots.set(lots)
        emit_event(
            "nonconformance.opened",
            aggregate=nc,
            site=site,
            actor=actor,
            reason=title,
            payload=nc_payload(nc, lots=[lot.number for lot in lots], description=description),
        )
    return nc


def _lock(nc: NonConformance) -> NonConformance:
    return (
        NonConformance.objects.select_for_update(of=("self",))
        .select_related("site", "item", "work_order")
        .get(pk=nc.pk)
    )


def update_nonconformance(
    nc: NonConformance, *, actor, reason: str = "", expected_version=None, **changes
) -> NonConformance:
    """Change root cause, containment, description or status (closing needs every action
    done)."""
    authorize(actor, "quality.change_nonconformance", nc.site_id)
    allowed = {"root_cause", "containment", "description", "status"}
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidInput(
            _("Unknown fields."), code="invalid", fields={k: [_("Unknown.")] for k in unknown}
        )
    _check_text(**{k: v for k, v in changes.items() if k != "status"})
    with transaction.atomic():
        locked = _lock(nc)
        if expected_version is not None and expected_version != locked.version:
            from exceptions.services.base import PreconditionFailed

            raise PreconditionFailed(_("The non-conformance changed since you read it."))
        status = changes.get("status")
        if status and status not in NonConformance.Status.values:
            raise InvalidInput(
                _("Unknown status."), code="invalid_status", fields={"status": [status]}
            )
        if status == NonConformance.Status.CLOSED:
            require_reason(reason)
            if locked.actions.filter(done_at__isnull=True).exists():
                raise DomainError(
                    _("Every action must be done before the non-conformance closes."),
                    code="actions_open",
                )
            locked.closed_at = timezone.now()
        previous = {k: getattr(locked, k) for k in changes}
        for key, value in changes.items():
            setattr(locked, key, value)
        locked.version += 1
        save_with_history(locked, actor=actor, reason=default_reason(reason, "changed"))
        emit_event(
            "nonconformance.changed",
            aggregate=locked,
            site=locked.site,
            actor=actor,
            reason=reason,
            payload=nc_payload(
                locked,
                changed=sorted(k for k in changes if previous[k] != changes[k]),
                action=None,
            ),
        )
    return locked


def add_action(
    nc: NonConformance, *, actor, kind: str, description: str, owner, due_at: datetime
) -> NcAction:
    authorize(actor, "quality.change_nonconformance", nc.site_id)
    if kind not in NcAction.Kind.values or not (description or "").strip() or due_at is None:
        raise InvalidInput(
            _("An action needs a kind, a description, an owner and a due date."),
            code="invalid_action",
        )
    if owner is None or not owner.is_active or not can_access_site(owner, nc.site_id):
        raise InvalidInput(
            _("The owner must be an active user of the site."),
            code="invalid_owner",
            fields={"owner": [_("Not a user of this site.")]},
        )
    with transaction.atomic():
        locked = _lock(nc)
        action = save_with_history(
            NcAction(
                nonconformance=locked,
                kind=kind,
                description=description.strip()[:500],
                owner=owner,
                due_at=due_at,
            ),
            actor=actor,
            reason="action added",
        )
        emit_event(
            "nonconformance.changed",
            aggregate=locked,
            site=locked.site,
            actor=actor,
            reason=description,
            payload=nc_payload(locked, changed=["actions"], action=action_payload(action)),
        )
    return action


def complete_action(action: NcAction, *, actor, reason: str = "") -> NcAction:
    nc = action.nonconformance
    if actor is not None and actor.pk != action.owner_id:
        authorize(actor, "quality.change_nonconformance", nc.site_id)
    elif actor is not None and not can_access_site(actor, nc.site_id):
        raise NotPermitted(_("You have no access to this site."), code="wrong_site")
    with transaction.atomic():
        locked = NcAction.objects.select_for_update().get(pk=action.pk)
        if locked.done_at is not None:
            raise DomainError(_("The action is done already."), code="action_done")
        locked.done_at = timezone.now()
        save_with_history(
            locked, actor=actor, reason=default_reason(reason, "done"), fields=["done_at"]
        )
        nc = _lock(nc)
        emit_event(
            "nonconformance.changed",
            aggregate=nc,
            site=nc.site,
            actor=actor,
            reason=reason,
            payload=nc_payload(nc, changed=["actions"], action=action_payload(locked)),
        )
    return locked


def escalate_overdue_actions(now: datetime | None = None, batch: int = 500) -> int:
    """Escalate each action past its due date and not done, once, a batch per transaction
    (SKIP LOCKED: concurrent sweeps take others): its owner, the site's quality and managers
    are told (``nc_action.overdue``). Actions of a closed non-conformance are left alone.
    Returns how many were escalated."""
    now = now or timezone.now()
    escalated = 0
    while True:
        with transaction.atomic():
            due = list(
                NcAction.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("owner", "nonconformance__site", "nonconformance__item")
                .select_related("nonconformance__work_order")
                .filter(done_at__isnull=True, escalated_at__isnull=True, due_at__lte=now)
                .exclude(nonconformance__status=NonConformance.Status.CLOSED)
                .order_by("due_at", "pk")[:batch]
            )
            for action in due:
                nc = action.nonconformance
                action.escalated_at = now
                save_with_history(action, actor=None, reason="overdue", fields=["escalated_at"])
                emit_event(
                    "nc_action.overdue",
                    aggregate=action,
                    site=nc.site,
                    actor=None,
                    reason=_("Action overdue since %(due)s") % {"due": action.due_at.isoformat()},
                    payload=nc_payload(nc, action=action_payload(action)),
                )
            escalated += len(due)
        if len(due) < batch:
            return escalated


def save_quality_configuration(obj, *, actor, reason: str, **kwargs):
    """Disposition reasons and site quality policies, as every configuration is saved."""
    from mes.services import save_configuration

    from ..models import SiteQualityPolicy

    site = obj.site if isinstance(obj, SiteQualityPolicy) else None
    return save_configuration(
        obj,
        actor=actor,
        reason=reason,
        event_type="quality.configuration_changed",
        site=site,
        **kwargs,
    )
