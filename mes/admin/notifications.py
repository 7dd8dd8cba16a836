"""Admin of notifications and preferences: read-only lists for support ("was I told?")."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q

from mes.access import visible_site_ids
from mes.models import Notification, NotificationPreference

from .base import ScopedAdminMixin


class ReadOnlyAdmin(ScopedAdminMixin, admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    """Messages sent to users; scoped to the sites the reader may see (or their own)."""

    list_display = ("created_at", "user", "kind", "title", "site", "read_at")
    list_filter = ("kind", ("site", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("user", "site")
    search_fields = ("title", "user__username")
    ordering = ("-pk",)
    fields = (
        "user",
        "kind",
        "title",
        "body",
        "link",
        "site",
        ("related_type", "related_id"),
        "event",
        "created_at",
        "read_at",
    )

    def scoped(self, queryset, request):
        # Support ("was I told?"): the messages of the sites the reader may see, and their own.
        return queryset.filter(Q(site__in=visible_site_ids(request.user)) | Q(user=request.user))


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(ReadOnlyAdmin):
    """A user's mutes (their own only: preferences belong to their owner)."""

    list_display = ("user", "kind", "muted")
    list_filter = ("kind", "muted")
    list_select_related = ("user",)
    search_fields = ("user__username",)
