"""Shared model pieces: how every model reaches its site (its scope), the querysets that apply
it, and the audit fields on history rows.

Every model of an Andon app declares its scope, and ``manage.py check`` refuses to start when
one does not (``andon.checks``):

- ``site_path = "work_order__site"``: the path to its :class:`~mes.models.Site`; the default
  manager is (or derives from) :class:`SiteScopedQuerySet`;
- ``scope = GLOBAL``: shared by all sites (items, configuration): every signed-in user reads it;
- ``scope = OWNER``: one user's own rows (notifications): nobody else's, not even a superuser's;
- ``scope = INTERNAL``: bookkeeping that no page, API or admin lists (outbox deliveries,
  idempotency records, counters).

``Model.objects.visible_to(user)`` is then the one scope of every API, page, admin and export.
"""

from django.db import models

from .access import visible_site_ids

GLOBAL = "global"
OWNER = "owner"
INTERNAL = "internal"
SCOPES = (GLOBAL, OWNER, INTERNAL)


class SiteScopedQuerySet(models.QuerySet):
    """``visible_to(user)``: the only way API, pages, admin and exports scope records to a user.

    A model names the path to its site in ``site_path`` ("site", "work_order__site", ...).
    """

    def visible_to(self, user):
        return self.filter(**{f"{self.model.site_path}__in": visible_site_ids(user)})


class GlobalQuerySet(models.QuerySet):
    """Master data shared by all sites (items): visible to every signed-in, active user."""

    def visible_to(self, user):
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        return self.all()


class OwnerQuerySet(models.QuerySet):
    """One user's own rows, and nobody else's (not even a superuser's)."""

    def visible_to(self, user):
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        return self.filter(user=user)


class InternalQuerySet(models.QuerySet):
    """Bookkeeping rows: never listed to anyone (services read them directly)."""

    def visible_to(self, user):
        return self.none()


class ChainedEntry(models.Model):
    """The tamper-evidence columns of an append-only audit row (``mes.audit``): its place in
    its chain and its keyed hash, both set by the database as the row is inserted."""

    audit_seq = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    audit_hash = models.CharField(max_length=64, blank=True, default="", editable=False)

    class Meta:
        abstract = True


class HistoryAuditFields(ChainedEntry):
    """Extra columns on every simple-history table: the request that made the change, the
    channel it came through (``mes.audit.Channel``), and the chain (one per record)."""

    request_id = models.CharField(max_length=64, blank=True, default="")
    channel = models.CharField(max_length=10, blank=True, default="")

    class Meta:
        abstract = True
