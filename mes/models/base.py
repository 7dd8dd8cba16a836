"""Shared model pieces: the site-scoped queryset and the audit fields on history rows."""

from django.db import models

from mes.access import visible_site_ids


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


class HistoryAuditFields(models.Model):
    """Extra columns on every simple-history table: the request that made the change."""

    request_id = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        abstract = True
