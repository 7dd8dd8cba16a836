"""The non-conformance pages: a site's open ones, and one with its cause, containment and
actions. An action's owner marks it done here (the link of the notification they get);
quality records the cause, the containment, new actions, and closes it. Services change
everything; these pages only read through ``mes.pages``."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.views.decorators.http import require_http_methods, require_safe

from mes.errors import DomainError, InvalidInput
from mes.notifications import site_members
from mes.pages import list_export, refused, render_page, site_or_404, visible
from mes.roles import ROLES

from . import services
from .models import NcAction, NonConformance, QualityHold

NC_COLUMNS = [
    (_l("number"), lambda n: n.number),
    (_l("status"), lambda n: n.status),
    (_l("title"), lambda n: n.title),
    (_l("item"), lambda n: n.item.code if n.item else ""),
    (_l("work order"), lambda n: n.work_order.erp_number if n.work_order else ""),
    (_l("opened"), lambda n: n.opened_at),
]


@require_safe
@login_required
def nonconformance_list(request: HttpRequest, site_code: str) -> HttpResponse:
    site = site_or_404(request, site_code)
    show = request.GET.get("show", "open")
    found = (
        visible(request, NonConformance)
        .filter(site=site)
        .select_related("item", "work_order")
        .order_by("-opened_at", "-pk")
    )
    if show == "open":
        found = found.exclude(status=NonConformance.Status.CLOSED)
    exported = list_export(request, f"ncs-{site.code}", NC_COLUMNS, found.iterator(500))
    if exported is not None:
        return exported
    return render_page(
        request,
        "quality/nonconformances.html",
        {"site": site, "nonconformances": found[:100], "show": show},
    )


@require_http_methods(["GET", "POST"])
@login_required
def nonconformance_detail(request: HttpRequest, pk: int) -> HttpResponse:
    nc = visible(request, NonConformance).select_related("site", "item", "ticket").filter(pk=pk)
    nc = nc.first()
    if nc is None:
        raise Http404(_("No such record."))
    may_change = request.user.has_perm("quality.change_nonconformance")
    if request.method == "POST":
        _change(request, nc, may_change)
        return redirect("quality:nonconformance", pk=nc.pk)
    actions = list(nc.actions.select_related("owner"))
    now = timezone.now()
    for action in actions:
        action.overdue = action.done_at is None and action.due_at < now
        action.may_complete = action.done_at is None and (
            may_change or action.owner_id == request.user.pk
        )
    return render_page(
        request,
        "quality/nonconformance.html",
        {
            "site": nc.site,
            "nc": nc,
            "actions": actions,
            "lots": nc.lots.select_related("item").order_by("number"),
            "holds": visible(request, QualityHold).filter(nonconformance=nc).order_by("-placed_at"),
            "may_change": may_change,
            "statuses": NonConformance.Status.choices,
            "kinds": NcAction.Kind.choices,
            "owners": site_members(nc.site_id, ROLES).order_by("username") if may_change else [],
        },
    )


def _change(request: HttpRequest, nc: NonConformance, may_change: bool) -> None:
    post, user = request.POST, request.user
    try:
        if post.get("do") == "done":
            action = nc.actions.filter(pk=post.get("action") or 0).first()
            if action is None:
                raise InvalidInput(_("No such action."), code="not_found")
            services.complete_action(action, actor=user, reason=post.get("reason", ""))
            messages.success(request, _("Action done."))
            return
        if not may_change:
            raise PermissionDenied
        if post.get("do") == "action":
            services.add_action(
                nc,
                actor=user,
                kind=post.get("kind", ""),
                description=post.get("description", ""),
                owner=site_members(nc.site_id, ROLES).filter(username=post.get("owner")).first(),
                due_at=_due(post.get("due", ""), nc.site.timezone),
            )
            messages.success(request, _("Action added."))
            return
        services.update_nonconformance(
            nc,
            actor=user,
            reason=post.get("reason", ""),
            **{k: post[k] for k in ("root_cause", "containment", "status") if k in post},
        )
        messages.success(request, _("%(nc)s saved.") % {"nc": nc.number})
    except DomainError as exc:
        refused(request, exc)


def _due(raw: str, tz: str) -> datetime.datetime | None:
    """A due date typed on the page: the end of that day at the site."""
    try:
        day = parse_date(raw.strip()) if raw else None
    except ValueError:  # well formed, not a date (2026-02-30)
        day = None
    if day is None:
        return None
    from zoneinfo import ZoneInfo

    return datetime.datetime.combine(day, datetime.time(23, 59), tzinfo=ZoneInfo(tz))
