"""Floor pages for exception tickets: raise one in three taps, my queue, a site's open tickets
and the detail page with exactly the actions the workflow allows.

Pages read through :mod:`exceptions.selectors` (scoped by ``visible_to``: another site's record
is a 404) and change nothing themselves: every POST calls a service in
:mod:`exceptions.services`, which checks permission, site and the workflow table again.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from mes import selectors as mes_selectors
from mes.errors import DomainError, InvalidInput
from mes.pages import list_export, refused, render_page, site_or_404

from . import board, selectors, services, sla
from .choices import RaisedVia
from .forms import RaiseForm, SchemaForm
from .models import ExceptionTicket
from .workflow import allowed_transitions
from .workflow import table as workflow_table

VIEW_PERM = "exceptions.view_exceptionticket"
ADD_PERM = "exceptions.add_exceptionticket"
CHANGE_PERM = "exceptions.change_exceptionticket"


def _raise_context(request: HttpRequest, site_code: str) -> selectors.RaiseContext:
    """The site and context of a raise page, or 404; 403 without the right to raise."""
    site = site_or_404(request, site_code)
    if not request.user.has_perm(ADD_PERM):
        raise PermissionDenied(_("You may not raise exceptions."))
    try:
        return selectors.raise_context(request.user, site, request.GET)
    except selectors.ContextNotFound as exc:
        raise Http404(_("No such work order, operation, work center or machine.")) from exc


def _ticket(request: HttpRequest, pk: int) -> ExceptionTicket:
    ticket = selectors.ticket_for(request.user, pk)
    if ticket is None:
        raise Http404(_("No such exception."))
    return ticket


# --- raise: tiles (tap 2) and form (tap 3) ------------------------------------------------


@require_safe
@login_required
def raise_types(request: HttpRequest, site_code: str) -> HttpResponse:
    """Big type tiles; each carries the context in its URL."""
    context = _raise_context(request, site_code)
    query = urlencode(context.query())
    tiles = [
        (t, reverse("exceptions:raise-form", args=[context.site.code, t.code]), query)
        for t in selectors.active_types()
    ]
    return render_page(
        request,
        "exceptions/raise_types.html",
        {"site": context.site, "ctx": context, "tiles": tiles},
    )


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def raise_form(request: HttpRequest, site_code: str, type_code: str) -> HttpResponse:
    """The type's form from its schema; POST raises the ticket through the service."""
    context = _raise_context(request, site_code)
    exception_type = selectors.active_type(type_code)
    if exception_type is None:
        raise Http404(_("No such exception type."))
    if request.method == "POST":
        form = RaiseForm(exception_type, request.POST)
        data_form = SchemaForm(exception_type, request.POST, site=context.site)
        if form.is_valid() and data_form.is_valid():
            try:
                ticket = services.raise_exception(
                    actor=request.user,
                    exception_type=exception_type,
                    site=context.site,
                    description=form.cleaned_data["description"],
                    severity=form.cleaned_data["severity"],
                    data=data_form.json_data(),
                    work_order=context.work_order,
                    operation=context.operation,
                    work_center=context.work_center,
                    machine=context.machine,
                    raised_via=RaisedVia.FLOOR,
                )
            except InvalidInput as exc:
                if exc.code == "invalid_form":
                    data_form.add_schema_errors(exc.fields.get("data", {}))
                else:
                    form.add_error(None, exc.detail)
            except DomainError as exc:
                if exc.status in (403, 404):
                    refused(request, exc)
                form.add_error(None, exc.detail)
            else:
                messages.success(
                    request, _("Exception %(number)s raised.") % {"number": ticket.number}
                )
                return redirect("exceptions:detail", pk=ticket.pk)
        status = 400
    else:
        form = RaiseForm(exception_type)
        data_form = SchemaForm(exception_type, site=context.site)
        status = 200
    query = urlencode(context.query())
    back = reverse("exceptions:raise", args=[context.site.code])
    return render_page(
        request,
        "exceptions/raise_form.html",
        {
            "site": context.site,
            "ctx": context,
            "type": exception_type,
            "form": form,
            "data_form": data_form,
            "back_url": f"{back}?{query}" if query else back,
        },
        status=status,
    )


# --- lists --------------------------------------------------------------------------------


# A ticket list as a spreadsheet (``?file=xlsx``): what the list shows, a column each.
TICKET_COLUMNS = [
    (_l("number"), lambda t: t.number),
    (_l("site"), lambda t: t.site.code),
    (_l("type"), lambda t: t.type.name),
    (_l("severity"), lambda t: t.severity),
    (_l("state"), lambda t: t.state_name),
    (_l("work order"), lambda t: t.work_order.erp_number if t.work_order else ""),
    (_l("work center"), lambda t: t.work_center.code if t.work_center else ""),
    (
        _l("queue"),
        lambda t: t.assignee.get_username() if t.assignee else (t.queue.name if t.queue else ""),
    ),
    (_l("raised"), lambda t: t.raised_at),
    (_l("acknowledge by"), lambda t: t.ack_due_at),
    (_l("resolve by"), lambda t: t.resolve_due_at),
]


@require_safe
@login_required
@permission_required(VIEW_PERM, raise_exception=True)
def my_queue(request: HttpRequest) -> HttpResponse:
    tickets = selectors.with_state_names(selectors.my_queue(request.user))
    exported = list_export(request, "my-queue", TICKET_COLUMNS, tickets)
    if exported is not None:
        return exported
    return render_page(
        request,
        "exceptions/list.html",
        {
            "tickets": tickets,
            "heading": _("My queue"),
            "empty": _("Nothing is waiting for you."),
            "show_site": True,
        },
    )


@require_safe
@login_required
@permission_required(VIEW_PERM, raise_exception=True)
def site_list(request: HttpRequest, site_code: str) -> HttpResponse:
    """A site's open tickets; with ``?work_order=<id>`` every ticket of that order."""
    site = site_or_404(request, site_code)
    work_order = None
    if request.GET.get("work_order"):
        try:
            context = selectors.raise_context(
                request.user, site, {"work_order": request.GET["work_order"]}
            )
        except selectors.ContextNotFound as exc:
            raise Http404(_("No such work order.")) from exc
        work_order = context.work_order
    tickets = selectors.with_state_names(
        selectors.site_tickets(request.user, site, work_order=work_order)
    )
    exported = list_export(request, f"exceptions-{site.code}", TICKET_COLUMNS, tickets)
    if exported is not None:
        return exported
    if work_order is not None:
        heading = _("Exceptions of %(wo)s") % {"wo": work_order.erp_number}
        empty = _("No exceptions were raised on this work order.")
    else:
        heading = _("Open exceptions")
        empty = _("No open exceptions at this site.")
    return render_page(
        request,
        "exceptions/list.html",
        {
            "site": site,
            "work_order": work_order,
            "tickets": tickets,
            "heading": heading,
            "empty": empty,
            "show_site": False,
        },
    )


# --- live board ---------------------------------------------------------------------------


def _board_context(request: HttpRequest, site_code: str) -> dict:
    site = site_or_404(request, site_code)
    tickets = selectors.site_tickets(request.user, site)
    machines = mes_selectors.machine_states(request.user, site)
    return {"site": site, "lanes": board.lanes(tickets), "machines": machines}


@require_safe
@login_required
@permission_required(VIEW_PERM, raise_exception=True)
def board_page(request: HttpRequest, site_code: str) -> HttpResponse:
    """A site's open tickets by work center, coloured by SLA state, kept live by websocket."""
    return render_page(request, "exceptions/board.html", _board_context(request, site_code))


@require_safe
@login_required
@permission_required(VIEW_PERM, raise_exception=True)
def board_fragment(request: HttpRequest, site_code: str) -> HttpResponse:
    """Just the grouped cards, fetched by ``board.js`` after a push or every minute."""
    response = render(request, "exceptions/_board_lanes.html", _board_context(request, site_code))
    response["Cache-Control"] = "no-store"
    return response


# --- detail and its actions ---------------------------------------------------------------


@require_safe
@login_required
@permission_required(VIEW_PERM, raise_exception=True)
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = _ticket(request, pk)
    transitions, resolutions = [], []
    for transition in allowed_transitions(ticket, request.user):
        target = transition.to_state
        (resolutions if target.requires_decision else transitions).append(transition)
    state = workflow_table(ticket.workflow_id).states.get(ticket.status)
    return render_page(
        request,
        "exceptions/detail.html",
        {
            "site": ticket.site,
            "ticket": ticket,
            "state": state,
            "form_rows": selectors.form_rows(ticket),
            "clock": sla.clock_summary(ticket),
            "events": selectors.timeline(ticket),
            "decisions": selectors.decisions(ticket),
            "transitions": transitions,
            "resolutions": resolutions,
            "can_comment": request.user.has_perm(CHANGE_PERM) and not state_is_terminal(state),
        },
    )


def state_is_terminal(state) -> bool:
    return state is not None and state.is_terminal


@require_POST
@login_required
def transition(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = _ticket(request, pk)
    try:
        ticket = services.transition_exception(
            ticket,
            actor=request.user,
            to=request.POST.get("to", ""),
            reason=request.POST.get("reason", ""),
        )
    except DomainError as exc:
        refused(request, exc)
    else:
        messages.success(
            request,
            _("Exception %(number)s is now %(status)s.")
            % {"number": ticket.number, "status": _state_name(ticket)},
        )
    return redirect("exceptions:detail", pk=pk)


@require_POST
@login_required
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = _ticket(request, pk)
    try:
        services.record_decision(
            ticket,
            actor=request.user,
            decision=request.POST.get("decision", ""),
            reasoning=request.POST.get("reasoning", ""),
            resolve_to=request.POST.get("resolve_to") or None,
        )
    except DomainError as exc:
        refused(request, exc)
    else:
        messages.success(
            request,
            _("Decision recorded. Exception %(number)s is now %(status)s.")
            % {"number": ticket.number, "status": _state_name(ticket)},
        )
    return redirect("exceptions:detail", pk=pk)


@require_POST
@login_required
def comment(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = _ticket(request, pk)
    try:
        services.comment_exception(ticket, actor=request.user, text=request.POST.get("text", ""))
    except DomainError as exc:
        refused(request, exc)
    else:
        messages.success(request, _("Comment added."))
    return redirect(reverse("exceptions:detail", args=[pk]) + "#timeline")


def _state_name(ticket: ExceptionTicket) -> str:
    state = workflow_table(ticket.workflow_id).states.get(ticket.status)
    return state.name if state is not None else ticket.status
