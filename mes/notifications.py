"""Notifications: who is told what, for which outbox event, and the one helper that tells them.

The ``notifications`` outbox subscriber looks up the producers registered for an event's type;
each producer returns :class:`Message` s (a kind, recipients, a title, a link). :func:`send`
writes one :class:`~mes.models.Notification` row per recipient in the delivery transaction and,
once that commits, pushes each to the recipient's channel group ``user.<id>``. The row is the
truth; a push is a hint a disconnected client makes up for with ``GET /api/v1/notifications/
?after=<last id>``.

Adding a kind (later capabilities do this from their ``AppConfig.ready()``)::

    from mes.notifications import Message, kinds, producers

    kinds.register("inspection_failed", _("Inspection failed"))

    @producers.register("inspection.failed")
    def inspection_failed(event):
        return [Message("inspection_failed", users, title=..., link=...)]
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field

from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy

from mes.access import SITE_ACCESS_PERM
from mes.bulk import insert_for_each, insert_new_rows
from mes.events import NOTIFICATIONS, catalogue
from mes.models import Notification, NotificationPreference, OutboxEvent, Site
from mes.outbox import subscribers
from mes.registry import Registry

log = logging.getLogger(__name__)

SUBSCRIBER = "notifications"
PUSH_TYPE = "notification.message"
FANOUT_TYPE = "notification.fanout"
REVOKE_TYPE = "session.revoke"


def user_group(user_id: int) -> str:
    """The channel group every connection of one user joins."""
    return f"user.{user_id}"


def role_group(site_id: int, role: str) -> str:
    """The channel group of one role's members at one site: every notification socket of
    such a member joins it, so a message to a role is one send, not one per member."""
    return f"notify.{site_id}.{role}"


def session_group(user_id: int) -> str:
    """The channel group every websocket of one user joins, whatever it shows (revocation)."""
    return f"session.{user_id}"


# --- registries ---------------------------------------------------------------------------

kinds = Registry("notification kinds", "Kinds of notification users receive and may mute.")
for _kind, _label in [
    ("hold_placed", gettext_lazy("Work order held")),
    ("hold_released", gettext_lazy("Work order released from hold")),
    ("account_expiring", gettext_lazy("An account you sponsor expires soon")),
    ("account_expired", gettext_lazy("An account you sponsor expired")),
]:
    kinds.register(_kind, _label)


@dataclass
class Message:
    """What a producer asks to send: one kind and text to several recipients."""

    kind: str
    recipients: Iterable  # users (a queryset or a list)
    title: str
    body: str = ""
    link: str = ""
    site: Site | None = None
    related: object | None = None
    exclude: set[int] = field(default_factory=set)  # user ids never told (the actor)
    # The recipients are these roles' members at ``site`` (``site_members``): the push goes
    # to those role groups at once, naming each recipient's row, not user by user.
    roles: tuple[str, ...] = ()


@dataclass(eq=False)
class _Fanout:
    """The role groups one message's rows are pushed through (rows of one message share it)."""

    site_id: int
    roles: tuple[str, ...]


Producer = Callable[[OutboxEvent], Iterable[Message]]


class ProducerRegistry(Registry[list[Producer]]):
    """Producers per event type (several may listen to one). Each change (re)subscribes
    ``notifications`` to exactly the registered types, so the outbox never records deliveries
    of unrelated events; a type the catalogue does not open to notifications is refused."""

    def __init__(self) -> None:
        super().__init__(
            "notification producers",
            "Per event type, the functions that say who is told what.",
            multiple=True,
        )

    def build(self, key: str, value, **options):
        entry = catalogue.event_type(key)
        if NOTIFICATIONS not in entry.audiences:
            raise ImproperlyConfigured(
                f"{key} is not catalogued for notifications (mes.events audiences)"
            )
        return super().build(key, value, **options)

    def changed(self) -> None:
        subscribers.register(
            SUBSCRIBER,
            deliver,
            patterns=tuple(self.names()) or ("-",),
            audience=NOTIFICATIONS,
            batch=True,
        )

    def for_type(self, event_type: str) -> list[Producer]:
        return list(self.get(event_type, ()))


producers = ProducerRegistry()


def deliver(events: list[OutboxEvent]) -> None:
    """The outbox subscriber, a chunk of events at a time: run each event's producers, send
    what they return, and push every row of the chunk at once after commit."""
    rows: list[Notification] = []
    memo = _chunk.set({"events": events})  # the chunk's events share their reads
    try:
        for event in events:
            for producer in producers.for_type(event.type):
                for message in producer(event) or ():
                    prepared = _prepare(message, event)
                    if prepared is not None:
                        common, recipients, fanout = prepared
                        for user_id in recipients:
                            row = Notification(user_id=user_id, **common)
                            row.fanout = fanout
                            rows.append(row)
    finally:
        _chunk.reset(memo)
    if rows:
        insert_new_rows(Notification, rows)  # the chunk's rows in one COPY
        transaction.on_commit(lambda: push(rows))


# --- the one sender helper ----------------------------------------------------------------


def send(
    message: Message, *, event: OutboxEvent | None = None, push_after_commit: bool = True
) -> list[Notification]:
    """Create one notification per active, distinct recipient who has not muted the kind, and
    push each to its user after commit (unless the caller pushes them with others). Returns
    the rows created."""
    prepared = _prepare(message, event)
    if prepared is None:
        return []
    common, recipients, fanout = prepared
    rows = insert_for_each(Notification, common, "user_id", recipients)
    if rows is None:  # not PostgreSQL (the demo's SQLite)
        rows = Notification.objects.bulk_create(
            [Notification(user_id=user_id, **common) for user_id in recipients]
        )
    for row in rows:
        row.fanout = fanout
    if rows and push_after_commit:
        transaction.on_commit(lambda: push(rows))
    return rows


def _prepare(message: Message, event: OutboxEvent | None):
    """What ``message`` makes: the rows' common fields, the recipients (active, distinct,
    not excluded, not muted; in key order) and the role groups to push through (None: one
    push per recipient); None when nobody is to be told."""
    if isinstance(message.recipients, QuerySet):  # ids only: no user objects for a fan-out
        users = {pk for pk in _active_ids(message.recipients) if pk not in message.exclude}
    else:
        users = {
            u.pk
            for u in message.recipients
            if u is not None and u.is_active and u.pk not in message.exclude
        }
    if not users:
        return None
    muted = _muted(message.kind, users)
    related_type, related_id = None, ""
    if message.related is not None:
        related_type = ContentType.objects.get_for_model(message.related)
        related_id = str(message.related.pk)
    common = {
        "kind": message.kind,
        "title": message.title[:200],
        "body": message.body,
        "link": message.link[:300],
        "site": message.site,
        "related_type": related_type,
        "related_id": related_id,
        "event": event,
        "created_at": timezone.now(),
    }
    recipients = [user_id for user_id in sorted(users) if user_id not in muted]
    if not recipients:
        return None
    fanout = None
    if message.roles and message.site is not None:
        fanout = _Fanout(message.site.pk, tuple(message.roles))
    return common, recipients, fanout


# Within one chunk of the subscriber (``deliver``): the events of a burst mostly go to the
# same members of the same site, read once for all of them.
_chunk: ContextVar[dict | None] = ContextVar("andon_notification_chunk", default=None)


def chunk_memo() -> dict | None:
    """What the producers of the chunk being delivered share (``"events"``: the chunk's
    events; a producer may keep what it read for them all), or None outside a chunk."""
    return _chunk.get()


def _active_ids(recipients: QuerySet) -> list[int]:
    memo, key = _chunk.get(), getattr(recipients, "members_key", None)
    if memo is not None and key is not None and key in memo:
        return memo[key]
    ids = list(recipients.filter(is_active=True).values_list("pk", flat=True))
    if memo is not None and key is not None:
        memo[key] = ids
    return ids


def _muted(kind: str, users: set[int]) -> set[int]:
    memo = _chunk.get()
    key = ("muted", kind, frozenset(users))
    if memo is not None and key in memo:
        return memo[key]
    muted = set(
        NotificationPreference.objects.filter(user_id__in=users, kind=kind, muted=True).values_list(
            "user_id", flat=True
        )
    )
    if memo is not None:
        memo[key] = muted
    return muted


def push(rows: list[Notification]) -> None:
    """Tell each recipient's open connections; never fails the caller (pushes are hints).

    The rows of a message to roles go in one send per role group (``role_group``), naming
    each recipient's row and unread count (a socket forwards its own entry, or nothing); the
    others one send per recipient (``user_group``). All sends run in one event loop:
    channels_redis keeps its connection pool per loop.
    """
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None or not rows:
        return
    unread = unread_counts({r.user_id for r in rows})
    messages, fanouts = [], {}
    for row in rows:
        fanout = getattr(row, "fanout", None)
        if fanout is None:
            payload = {"type": PUSH_TYPE, **push_payload(row, unread)}
            messages.append((row.pk, user_group(row.user_id), payload))
        else:
            fanouts.setdefault(fanout, []).append(row)
    for fanout, of_message in fanouts.items():
        common = push_payload(of_message[0], {})
        del common["id"], common["unread"]
        payload = {
            "type": FANOUT_TYPE,
            **common,
            "users": {str(r.user_id): [r.pk, unread.get(r.user_id, 0)] for r in of_message},
        }
        for role in fanout.roles:
            messages.append((of_message[0].pk, role_group(fanout.site_id, role), payload))
    try:
        async_to_sync(_send_all)(layer, messages)
    except Exception:
        log.exception("could not push notifications %s", [pk for pk, _, _ in messages])


async def _send_all(layer, messages: list[tuple[int, str, dict]]) -> None:
    for pk, group, payload in messages:
        try:
            await layer.group_send(group, payload)
        except Exception:
            log.exception("could not push notification %s", pk)


def revoke_sessions(user_id: int) -> None:
    """Close every open websocket of a user at once (deactivated): a hint like any push; the
    consumers also re-check on every client message and periodically on pushes."""
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(session_group(user_id), {"type": REVOKE_TYPE})
    except Exception:
        log.exception("could not revoke the websockets of user %s", user_id)


def push_payload(row: Notification, unread: dict[int, int]) -> dict:
    return {
        "id": row.pk,
        "kind": row.kind,
        "title": row.title,
        "body": row.body,
        "link": row.link,
        "site": row.site.code if row.site_id and row.site else None,
        "created_at": row.created_at.isoformat(),
        "unread": unread.get(row.user_id, 0),
    }


def unread_counts(user_ids: Iterable[int]) -> dict[int, int]:
    return dict(
        Notification.objects.filter(user_id__in=list(user_ids), read_at__isnull=True)
        .values("user_id")
        .annotate(n=Count("pk"))
        .values_list("user_id", "n")
    )


# --- services: reading and muting ---------------------------------------------------------


def unread_count(user) -> int:
    return Notification.objects.visible_to(user).unread().count()


def mark_read(user, *, ids: Iterable[int] | None = None, everything: bool = False) -> int:
    """Mark ``user``'s own notifications read (the given ids, or all); other users' ids are
    ignored. Returns how many stay unread."""
    qs = Notification.objects.visible_to(user).unread()
    if not everything:
        qs = qs.filter(pk__in=list(ids or ()))
    qs.update(read_at=timezone.now())
    return unread_count(user)


def muted_kinds(user) -> list[str]:
    return sorted(
        NotificationPreference.objects.filter(user=user, muted=True).values_list("kind", flat=True)
    )


def set_muted_kinds(user, muted: Iterable[str]) -> list[str]:
    """Make exactly ``muted`` the user's muted kinds (unknown kinds are refused by the caller)."""
    wanted = set(muted)
    with transaction.atomic():
        NotificationPreference.objects.filter(user=user).exclude(kind__in=wanted).delete()
        for kind in wanted:
            NotificationPreference.objects.update_or_create(
                user=user, kind=kind, defaults={"muted": True}
            )
    return muted_kinds(user)


# --- recipients ---------------------------------------------------------------------------


def site_members(site: Site | int | None, roles: Iterable[str] = ()):
    """Active users who hold one of ``roles`` and were granted ``site`` itself (directly or
    through their role group). Global readers (auditors, superusers) are not members."""
    User = get_user_model()
    roles = [r for r in roles if r]
    if site is None or not roles:
        return User.objects.none()
    site_id = site if isinstance(site, int) else site.pk
    key = ("members", site_id, tuple(sorted(roles)))
    memo = _chunk.get()
    if memo is not None and ("query", key) in memo:  # built once per chunk, read once
        return memo["query", key]
    app_label, codename = SITE_ACCESS_PERM.split(".")
    perm = Q(permission__codename=codename, permission__content_type__app_label=app_label)
    from guardian.models import GroupObjectPermission, UserObjectPermission

    direct = UserObjectPermission.objects.filter(perm, object_pk=str(site_id)).values("user_id")
    via_group = GroupObjectPermission.objects.filter(perm, object_pk=str(site_id)).values(
        "group_id"
    )
    members = (
        User.objects.filter(is_active=True, groups__name__in=roles)
        .filter(Q(pk__in=direct) | Q(groups__in=via_group))
        .distinct()
    )
    members.members_key = key  # read once per chunk
    if memo is not None:
        memo["query", key] = members
    return members


def named_users_at(site: Site | int | None, usernames: Iterable[str]):
    """Active users by username who may see ``site`` (escalations, assignees)."""
    from mes.access import can_access_site

    User = get_user_model()
    names = [u for u in usernames if u]
    if not names:
        return []
    site_id = site if isinstance(site, int) or site is None else site.pk
    return [
        u
        for u in User.objects.filter(username__in=names, is_active=True)
        if can_access_site(u, site_id)
    ]


def actor_ids(event: OutboxEvent, *more) -> set[int]:
    """Who made the change (and ``more``): never told about their own doing."""
    return {pk for pk in (event.actor_id, *more) if pk}
