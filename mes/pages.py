"""What every server-rendered page of every app shares: the one way to read records for a
user (``visible_to``), the site of a URL, and the frame of the page (the top bar's sites).

Pages read through these (or through selectors built on ``visible_to``), so another site's
record is a 404, never a leak; they change nothing themselves: services do. The core's pages
have slots (:data:`slots`: ``nav``, ``home.links``, ``site.actions``, ``work_center.actions``,
``operation.actions``, ``work_order.row_actions``, ``work_order.actions``) that other apps fill
with partial templates from their ``pages`` module.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from mes import selectors
from mes.registry import Registry

slots = Registry(
    "page slots",
    "Partial templates the apps add to the core's pages ({% slot name %} in mes templates).",
    multiple=True,
)


def visible(request: HttpRequest, model: type[Model]) -> QuerySet:
    """The records of ``model`` the signed-in user may see."""
    return model._default_manager.visible_to(request.user)


def refused(request: HttpRequest, exc) -> None:
    """A service said no (a :class:`mes.errors.DomainError`): 403 and 404 stay what they are,
    anything else is shown to the user on the page."""
    if exc.status == 403:
        raise PermissionDenied(exc.detail) from exc
    if exc.status == 404:
        raise Http404(exc.detail) from exc
    messages.error(request, exc.detail)


def visible_or_404(request: HttpRequest, model: type[Model], **lookup) -> Model:
    found = visible(request, model).filter(**lookup).first()
    if found is None:
        raise Http404(_("No such record."))
    return found


def site_or_404(request: HttpRequest, site_code: str):
    site = selectors.get_visible_site(request.user, site_code)
    if site is None:
        raise Http404(_("No such site."))
    return site


def render_page(
    request: HttpRequest, template: str, context: dict, status: int = 200
) -> HttpResponse:
    """Render a page with the top bar's site links."""
    context = {"nav_sites": selectors.visible_sites(request.user), **context}
    return render(request, template, context, status=status)


def list_export(request: HttpRequest, name: str, columns: list, rows) -> HttpResponse | None:
    """``?file=xlsx`` (or ``csv``) on a list page: every row of the list, not the page's
    first hundred, streamed (``columns``: (header, function of a row)); None otherwise."""
    kind = request.GET.get("file")
    if kind not in ("xlsx", "csv"):
        return None
    from mes.audit.export import stream_csv, stream_xlsx

    header = [str(h) for h, _get in columns]
    lines = ([_plain(get(row)) for _h, get in columns] for row in rows)
    if kind == "csv":
        return stream_csv(header, lines, name)
    return stream_xlsx(header, lines, name, sheet=name)


def _plain(value):
    if value is None or isinstance(value, int | float | str):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
