"""The reconciliation page: Andon's confirmations against the ERP's acknowledgements, and the
time the ERP takes to learn of each kind of event."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from mes.errors import DomainError
from mes.pages import render_page

from . import reconciliation
from .models import ErpEndpoint

PER_PAGE = 50


@require_safe
@login_required
def reconciliation_page(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("erp.view_erpdelivery"):
        raise PermissionDenied
    context = {
        "endpoints": ErpEndpoint.objects.visible_to(request.user)
        .filter(is_active=True)
        .order_by("name"),
        "states": reconciliation.STATES,
        "params": request.GET,
    }
    try:
        query = reconciliation.Query(request.user, request.GET)
    except DomainError as exc:
        context["error"] = exc
        return render_page(request, "erp/reconciliation.html", context, status=exc.status)
    context["query"] = query
    if query.endpoint is not None:
        rows = reconciliation.work_orders(
            request.user, query.endpoint, site=query.site, search=query.search
        )
        context["counts"] = reconciliation.state_counts(rows)
        if not query.endpoint_given:
            context["summaries"] = reconciliation.summaries(
                request.user, site=query.site, search=query.search
            )
        if query.state:
            rows = rows.filter(state=query.state)
        context["page"] = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    context["gap"] = reconciliation.time_to_erp(
        request.user,
        since=query.since,
        endpoint=query.endpoint if query.endpoint_given else None,
        site=query.site,
    )
    filters = request.GET.copy()
    filters.pop("page", None)
    context["filters"] = filters.urlencode()
    return render_page(request, "erp/reconciliation.html", context)
