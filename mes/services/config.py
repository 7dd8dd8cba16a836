"""Configuration writes through services, like every other change: a site calendar here, and
(through the same helper) exception types, workflows, rules, SLA and escalation policies.

One save of a piece of configuration (with the rows edited with it: a calendar's closed days,
a workflow's states) is validated, permission-checked, written with history rows carrying the
actor and the reason, and announced by one outbox event whose payload says what changed and
what it was before. What depends on it (due times of open tickets, projected completions)
follows from that event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model
from django.utils.translation import gettext as _

from mes.access import sees_every_site
from mes.errors import InvalidInput, NotPermitted
from mes.models import GLOBAL, Site, WorkingCalendar
from mes.outbox import emit_event

from .base import authorize, default_reason, save_with_history

CONFIG_FIELDS = ("id", "label", "created", "changed", "previous")


def _perm(model: type[Model], action: str) -> str:
    return f"{model._meta.app_label}.{action}_{model._meta.model_name}"


def _validate(obj: Model) -> None:
    try:
        obj.full_clean()
    except ValidationError as exc:
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        label = f"{obj._meta.verbose_name} {obj}".strip()
        raise InvalidInput(
            _("%(record)s is not valid.") % {"record": label}, code="invalid", fields=fields
        ) from None


def _link_to_saved_parents(child: Model) -> None:
    """A row added with its (new) parent points at it by the parent's id, now it has one."""
    for field in child._meta.concrete_fields:
        if field.is_relation and getattr(child, field.attname) is None:
            parent = field.get_cached_value(child, None)
            if parent is not None and parent.pk is not None:
                setattr(child, field.attname, parent.pk)


def save_configuration(
    obj: Model,
    *,
    actor,
    reason: str,
    event_type: str,
    site: Site | None = None,
    children: Iterable[Model] = (),
    removed: Iterable[Model] = (),
    after_save: Iterable[Callable[[], None]] = (),
    after_children: Iterable[Callable[[], None]] = (),
    secrets: Iterable[str] = (),
) -> Model:
    """Save ``obj`` (created or changed) with the rows edited with it: ``children`` saved,
    ``removed`` deleted, each with a history row; ``after_save`` runs once ``obj`` has its id
    (a form's many-to-many), ``after_children`` once the children have theirs. All in one
    transaction that ends with one ``event_type`` event: ``{"id", "label", "created",
    "changed": [fields], "previous": {field: value before}}``. A field in ``secrets`` is
    named when it changed, its value never."""
    model = type(obj)
    children, removed, secrets = list(children), list(removed), set(secrets)
    created = obj.pk is None
    authorize(actor, _perm(model, "add" if created else "change"), site)
    if getattr(model, "scope", None) == GLOBAL and actor is not None:
        if not sees_every_site(actor):
            raise NotPermitted(
                _("Only who sees every site changes what every site shares."),
                code="shared_configuration",
            )
    for child in children:
        authorize(actor, _perm(type(child), "add" if child.pk is None else "change"), site)
    for child in removed:
        authorize(actor, _perm(type(child), "delete"), site)
    reason = default_reason(reason, "created" if created else "changed")
    user = actor if actor is not None and actor.is_authenticated else None
    with transaction.atomic():
        previous = {}
        if not created:
            previous = model.objects.select_for_update().filter(pk=obj.pk).values().first() or {}
        _validate(obj)
        save_with_history(obj, actor=actor, reason=reason)
        for callback in after_save:
            callback()
        for child in removed:
            child._history_user, child._change_reason = user, reason[:100]
            child.delete()
        for child in children:
            _link_to_saved_parents(child)
            _validate(child)
            save_with_history(child, actor=actor, reason=reason)
        for callback in after_children:
            callback()
        now = model.objects.filter(pk=obj.pk).values().first()
        changed = sorted(k for k, v in now.items() if k in previous and previous[k] != v)
        if children or removed:
            changed.append("related")  # rows edited with it: their own history says what
        emit_event(
            event_type,
            aggregate=obj,
            site=site,
            actor=actor,
            reason=reason,
            payload={
                "id": obj.pk,
                "label": str(obj)[:200],
                "created": created,
                "changed": changed,
                "previous": {k: previous[k] for k in changed if k in previous and k not in secrets},
            },
        )
    return obj


def save_calendar(calendar: WorkingCalendar, *, actor, reason: str = "", **parts) -> Model:
    """A site's working calendar with its closed days (``children``/``removed``): SLA clocks
    of the site's open tickets and projected completions of its orders are recomputed from
    the ``calendar.changed`` event."""
    return save_configuration(
        calendar,
        actor=actor,
        reason=reason,
        event_type="calendar.changed",
        site=calendar.site,
        **parts,
    )
