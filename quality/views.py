"""Quality's pages: record an inspection at an operation (the floor, phone-sized), the holds
of a site and one hold with its decisions, the recall of a lot (tree, exports, hold
everything downstream) and an item's control charts. They read through ``mes.pages`` and
change nothing themselves: services do."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.views.decorators.http import require_http_methods, require_safe

from mes.errors import DomainError
from mes.models import Item, Lot, Operation, WorkCenter
from mes.pages import list_export, refused, render_page, site_or_404, visible, visible_or_404

from . import services
from .api.export import recall_response
from .charts import control_chart
from .models import Characteristic, DispositionReason, HoldDecision, QualityHold
from .selectors import recall


@require_http_methods(["GET", "POST"])
@login_required
def inspect(request: HttpRequest, pk: int) -> HttpResponse:
    """The plan's characteristics of an operation, each sample a large input; a value out of
    spec turns red as it is typed (the limits are on the input), and the server decides."""
    op = (
        visible(request, Operation)
        .select_related("work_order__site", "work_order__item")
        .filter(pk=pk)
        .first()
    )
    if op is None:
        raise Http404(_("No such operation."))
    site = op.work_order.site
    characteristics = services.plan_characteristics(op)
    lots = list(visible(request, Lot).filter(work_order=op.work_order).order_by("-pk")[:20])
    if request.method == "POST":
        if not request.user.has_perm("quality.add_inspectionresult"):
            raise PermissionDenied
        measurements, problems = _measurements(request.POST, characteristics)
        lot = next((x for x in lots if x.number == request.POST.get("lot")), None)
        if not problems:
            try:
                rows = services.record_results(
                    op, actor=request.user, results=measurements, lot=lot
                )
            except DomainError as exc:
                refused(request, exc)
            else:
                failed = [r for r in rows if not r.passed]
                if failed:
                    messages.error(
                        request,
                        _("%(n)s out of spec: %(nc)s opened, quality is told and the lot held.")
                        % {"n": len(failed), "nc": failed[0].nonconformance.number},
                    )
                else:
                    messages.success(request, _("%(n)s results in spec.") % {"n": len(rows)})
                return redirect("quality:inspect", pk=op.pk)
        for problem in problems:
            messages.error(request, problem)
    samples = range(1, max([c.plan.sample_size for c in characteristics] or [1]) + 1)
    return render_page(
        request,
        "quality/inspect.html",
        {
            "site": site,
            "op": op,
            "characteristics": characteristics,
            "samples": samples,
            "lots": lots,
        },
    )


def _measurements(post, characteristics) -> tuple[list, list[str]]:
    """Measurements from the form: ``c<id>-<sample>`` values, ``c<id>-<sample>-defect``."""
    found, problems = [], []
    for c in characteristics:
        for sample in range(1, c.plan.sample_size + 1):
            key = f"c{c.pk}-{sample}"
            raw = post.get(key, "").strip().replace(",", ".")
            if not raw:
                continue
            if c.kind == Characteristic.Kind.ATTRIBUTE:
                code = post.get(f"{key}-defect", "")
                # the plan's characteristics come with their defect codes: no query per sample
                defect = next((d for d in c.defect_codes.all() if code and d.code == code), None)
                found.append(
                    services.Measurement(c, passed=raw == "pass", defect_code=defect, sample=sample)
                )
            else:
                found.append(services.Measurement(c, value=raw, sample=sample))
    if not found:
        problems.append(_("Enter at least one result."))
    return found, problems


HOLD_COLUMNS = [
    (_l("number"), lambda h: h.number),
    (_l("status"), lambda h: h.status),
    (_l("target"), lambda h: h.target),
    (_l("lot"), lambda h: h.lot.number if h.lot else ""),
    (_l("work order"), lambda h: h.work_order.erp_number if h.work_order else ""),
    (_l("item"), lambda h: h.item.code if h.item else ""),
    (_l("lots held"), lambda h: ", ".join(f"{x.lot.number} {x.open_qty}" for x in h.lots.all())),
    (_l("reason"), lambda h: h.reason),
    (_l("placed"), lambda h: h.placed_at),
    (_l("placed by"), lambda h: h.placed_by.get_username() if h.placed_by else ""),
]


@require_safe
@login_required
def hold_list(request: HttpRequest, site_code: str) -> HttpResponse:
    site = site_or_404(request, site_code)
    holds = (
        visible(request, QualityHold)
        .filter(site=site)
        .select_related("lot", "work_order", "item", "placed_by")
        .prefetch_related("lots__lot")
        .order_by("-placed_at")
    )
    show = request.GET.get("show", "open")
    if show == "open":
        holds = holds.filter(status__in=QualityHold.OPEN)
    exported = list_export(request, f"holds-{site.code}", HOLD_COLUMNS, holds.iterator(500))
    if exported is not None:
        return exported
    return render_page(
        request, "quality/holds.html", {"site": site, "holds": holds[:100], "show": show}
    )


@require_http_methods(["GET", "POST"])
@login_required
def hold_detail(request: HttpRequest, pk: int) -> HttpResponse:
    hold = visible_or_404(request, QualityHold, pk=pk)
    if request.method == "POST":
        _decide(request, hold)
        return redirect("quality:hold", pk=hold.pk)
    rows = list(hold.lots.select_related("lot__item").order_by("lot__number"))
    return render_page(
        request,
        "quality/hold.html",
        {
            "site": hold.site,
            "hold": hold,
            "rows": rows,
            "decisions": hold.decisions.select_related("lot", "decided_by", "reason_code"),
            "kinds": HoldDecision.Kind.choices,
            "reasons": DispositionReason.objects.filter(is_active=True),
            "work_centers": visible(request, WorkCenter).filter(site=hold.site),
            "may_decide": request.user.has_perm("quality.release_qualityhold"),
            "may_review": request.user.has_perm("quality.change_qualityhold"),
        },
    )


def _decide(request: HttpRequest, hold: QualityHold) -> None:
    post = request.POST
    try:
        if post.get("kind") == "review":
            services.review_hold(hold, actor=request.user, reason=post.get("reason", ""))
            messages.success(request, _("%(hold)s is under review.") % {"hold": hold.number})
            return
        lot = hold.lots.filter(lot__number=post.get("lot", "")).select_related("lot").first()
        services.decide(
            hold,
            actor=request.user,
            kind=post.get("kind", ""),
            lot=lot.lot if lot else None,
            quantity=post.get("quantity") or None,
            released_qty=post.get("released_qty") or None,
            reason=post.get("reason", ""),
            reason_code=DispositionReason.objects.filter(code=post.get("reason_code", "")).first(),
            work_center=visible(request, WorkCenter)
            .filter(site=hold.site, code=post.get("work_center", ""))
            .first(),
        )
    except DomainError as exc:
        refused(request, exc)
    else:
        messages.success(request, _("Decision recorded on %(hold)s.") % {"hold": hold.number})


@require_http_methods(["GET", "POST"])
@login_required
def recall_page(request: HttpRequest, site_code: str) -> HttpResponse:
    """Which lots, orders and customers' shipments contain lot X (or what went into it)."""
    site = site_or_404(request, site_code)
    number = (request.GET.get("lot") or request.POST.get("lot") or "").strip()
    direction = "backward" if request.GET.get("direction") == "backward" else "forward"
    lot = (
        visible(request, Lot)
        .filter(site=site, number=number)
        .select_related("item", "site")
        .first()
    )
    if request.method == "POST" and lot is not None:
        try:
            hold = services.place_hold(
                scope="supplier_lot",
                lot=lot,
                actor=request.user,
                reason=request.POST.get("reason", ""),
            )
        except DomainError as exc:
            refused(request, exc)
        else:
            messages.success(
                request,
                _("%(hold)s holds %(n)s lots.") % {"hold": hold.number, "n": len(hold.known_lots)},
            )
            return redirect("quality:hold", pk=hold.pk)
    found = recall(lot, request.user, direction=direction) if lot else None
    if found is not None and request.GET.get("as") in ("csv", "xlsx"):
        return recall_response(found, request.GET["as"])
    return render_page(
        request,
        "quality/recall.html",
        {
            "site": site,
            "number": number,
            "lot": lot,
            "found": found,
            "direction": direction,
            "may_hold": request.user.has_perm("quality.add_qualityhold"),
        },
    )


@require_safe
@login_required
def item_charts(request: HttpRequest, code: str) -> HttpResponse:
    """An item's control charts: per characteristic, its values over time at the user's
    sites, the spec limits, mean and ±3σ, Western Electric rule 1 breaks marked."""
    item = visible_or_404(request, Item, code=code)
    charts = [
        (c, control_chart(c, request.user))
        for c in Characteristic.objects.filter(plan__item=item, kind="variable").select_related(
            "plan"
        )
    ]
    return render_page(request, "quality/item.html", {"item": item, "charts": charts})
