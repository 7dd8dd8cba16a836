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
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from mes import selectors, services
from mes.choices import WORK_ORDER_ACTIONS
from mes.errors import DomainError
from mes.models import WorkOrder

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


def _render(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    """Render a page with the top bar's site links."""
    context = {"nav_sites": selectors.visible_sites(request.user), **context}
    return render(request, template, context, status=status)


@require_safe
@login_required
def home(request: HttpRequest) -> HttpResponse:
    summaries = selectors.site_summaries(request.user)
    return _render(
        request,
        "mes/home.html",
        {"summaries": summaries, "nav_sites": [s.site for s in summaries]},
    )


@require_safe
@login_required
def floor(request: HttpRequest, site_code: str) -> HttpResponse:
    site = selectors.get_visible_site(request.user, site_code)
    if site is None:
        raise Http404(_("No such site."))
    board = selectors.floor_board(request.user, site)
    return _render(request, "mes/floor.html", {"site": site, "board": board})


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
    return _render(request, "mes/work_order.html", context)


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
