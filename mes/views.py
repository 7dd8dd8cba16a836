"""Server-rendered pages: the site list, the floor board of a site and a work order.

Pages only read (through :mod:`mes.selectors`, always scoped by ``visible_to``); every change goes
through a service in :mod:`mes.services`, which checks permission, site and transition.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.functional import Promise
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from mes import notifications, selectors, services
from mes.choices import WORK_ORDER_ACTIONS
from mes.errors import DomainError
from mes.machine_views import reason_branches
from mes.models import Notification, WorkOrder
from mes.pages import render_page, site_or_404, visible
from mes.services import review

CHANGE_WORK_ORDER = "mes.change_workorder"


@dataclass(frozen=True)
class WorkOrderAction:
    """A button on the work order page and the service its POST calls."""

    verb: str
    label: Promise
    service: Callable[..., WorkOrder]
    needs_reason: bool = False
    style: str = "primary"

    def allowed_from(self, wo: WorkOrder) -> bool:
        return wo.status in WORK_ORDER_ACTIONS[self.verb]


ACTIONS: dict[str, WorkOrderAction] = {
    action.verb: action
    for action in (
        WorkOrderAction(
            "release",
            gettext_lazy("Release"),
            services.release_work_order,
        ),
        WorkOrderAction(
            "start",
            gettext_lazy("Start"),
            services.start_work_order,
        ),
        WorkOrderAction(
            "resume",
            gettext_lazy("Resume"),
            services.resume_work_order,
        ),
        WorkOrderAction(
            "complete",
            gettext_lazy("Complete"),
            services.complete_work_order,
        ),
        WorkOrderAction(
            "close",
            gettext_lazy("Close"),
            services.close_work_order,
        ),
        WorkOrderAction(
            "hold",
            gettext_lazy("Hold"),
            services.hold_work_order,
            needs_reason=True,
            style="warn",
        ),
        WorkOrderAction(
            "cancel",
            gettext_lazy("Cancel order"),
            services.cancel_work_order,
            needs_reason=True,
            style="danger",
        ),
    )
}


def available_actions(user, wo: WorkOrder) -> list[WorkOrderAction]:
    """The actions ``user`` may take on ``wo`` now (the service still checks again on POST)."""
    if not user.has_perm(CHANGE_WORK_ORDER):
        return []
    return [action for action in ACTIONS.values() if action.allowed_from(wo)]


@require_safe
@login_required
def home(request: HttpRequest) -> HttpResponse:
    summaries = selectors.site_summaries(request.user)
    return render_page(
        request,
        "mes/home.html",
        {"summaries": summaries, "nav_sites": [s.site for s in summaries]},
    )


@require_safe
@login_required
def floor(request: HttpRequest, site_code: str) -> HttpResponse:
    site = site_or_404(request, site_code)
    board = selectors.floor_board(request.user, site)
    branches = reason_branches() if board.downtimes else []
    machines = selectors.machine_states(request.user, site)
    context = {"site": site, "board": board, "branches": branches, "machines": machines}
    return render_page(request, "mes/floor.html", context)


@require_safe
@login_required
def work_order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    wo = selectors.work_order_for(request.user, pk)
    if wo is None:
        raise Http404(_("No such work order."))
    context = {
        "site": wo.site,
        "wo": wo,
        "is_behind": wo.is_behind(),
        "operations": selectors.work_order_operations(wo),
        "confirmations": selectors.recent_confirmations(wo),
        "history": selectors.recent_history(wo),
        "actions": available_actions(request.user, wo),
    }
    return render_page(request, "mes/work_order.html", context)


@require_POST
@login_required
def work_order_action(request: HttpRequest, pk: int, verb: str) -> HttpResponse:
    action = ACTIONS.get(verb)
    if action is None:
        raise Http404(_("No such action."))
    wo = selectors.work_order_for(request.user, pk)
    if wo is None:
        raise Http404(_("No such work order."))
    reason = request.POST.get("reason", "").strip()
    try:
        wo = action.service(wo, actor=request.user, reason=reason)
    except DomainError as exc:
        if exc.status == 403:
            raise PermissionDenied(exc.detail) from exc
        if exc.status == 404:
            raise Http404(exc.detail) from exc
        messages.error(request, exc.detail)
    else:
        messages.success(
            request,
            _("Work order %(number)s: %(status)s.")
            % {"number": wo.erp_number, "status": wo.get_status_display()},
        )
    return redirect("work-order", pk=pk)


# --- notifications: the bell's page ---------------------------------------------------------

NOTIFICATIONS_PER_PAGE = 30


@require_safe
@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    """The user's own notifications, newest first, and the kinds they can mute."""
    page = Paginator(
        visible(request, Notification).select_related("site").order_by("-pk"),
        NOTIFICATIONS_PER_PAGE,
    ).get_page(request.GET.get("page"))
    labels = dict(notifications.kinds.choices())
    for row in page.object_list:
        row.kind_label = labels.get(row.kind, row.kind)
    muted = set(notifications.muted_kinds(request.user))
    kinds = [(kind, label, kind in muted) for kind, label in labels.items()]
    return render_page(request, "mes/notifications.html", {"page": page, "kinds": kinds})


@require_POST
@login_required
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one of the user's notifications read and follow its link (a local one only)."""
    row = visible(request, Notification).filter(pk=pk).first()
    if row is None:
        raise Http404(_("No such notification."))
    notifications.mark_read(request.user, ids=[row.pk])
    if row.link and url_has_allowed_host_and_scheme(
        row.link, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(row.link)
    return redirect("notifications")


@require_POST
@login_required
def notification_read_all(request: HttpRequest) -> HttpResponse:
    notifications.mark_read(request.user, everything=True)
    messages.success(request, _("All notifications marked read."))
    return redirect("notifications")


@require_POST
@login_required
def notification_preferences(request: HttpRequest) -> HttpResponse:
    """Set the muted kinds from the checkboxes; an unknown kind refuses the whole form."""
    muted = request.POST.getlist("muted")
    unknown = [kind for kind in muted if kind not in notifications.kinds]
    if unknown:
        messages.error(request, _("Unknown notification kind: %s.") % ", ".join(unknown))
    else:
        notifications.set_muted_kinds(request.user, muted)
        messages.success(request, _("Notification preferences saved."))
    return redirect("notifications")


@login_required
def access_review_page(request: HttpRequest) -> HttpResponse:
    """Who holds what, for the accounts the signed-in manager manages; CSV; sign a review."""
    if not review.may_review(request.user):
        raise PermissionDenied
    if request.method == "POST":
        review.sign_review(
            request.user,
            revoked=request.POST.get("revoked", ""),
            notes=request.POST.get("notes", ""),
        )
        messages.success(request, _("Review signed."))
        return redirect("access-review")
    found = review.access_review(request.user)
    if request.GET.get("format") == "csv":
        answer = HttpResponse(review.review_csv(found), content_type="text/csv; charset=utf-8")
        answer["Content-Disposition"] = 'attachment; filename="access-review.csv"'
        return answer
    sections = [(key, label, found.section(key)) for key, label in review.SECTIONS.items()]
    context = {
        "sections": sections,
        "accounts": found.accounts,
        "signed": review.reviews_visible_to(request.user)[:20],
    }
    return render(request, "mes/access_review.html", context)
