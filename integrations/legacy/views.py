"""The imports' pages: a site's imports and the upload form; one import's mapping (columns,
sheet, header row, the floor's machine names), its dry run and its commit with progress."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from mes.audit.export import stream_csv, stream_xlsx
from mes.errors import DomainError
from mes.models import Machine
from mes.pages import refused, render_page, site_or_404, visible_or_404

from . import execution, services
from .kinds import KINDS
from .models import ImportJob
from .tasks import commit_import


def _may_import(request) -> None:
    if not request.user.has_perm(services.PERM):
        raise PermissionDenied


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def import_list(request: HttpRequest, site_code: str) -> HttpResponse:
    site = site_or_404(request, site_code)
    _may_import(request)
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise DomainError(_("Choose a file."), code="file_required")
            job = services.upload(
                actor=request.user,
                site=site,
                kind=request.POST.get("kind", ""),
                filename=upload.name,
                data=upload.read(services.MAX_BYTES + 1),
            )
            return redirect("legacy:job", job.pk)
        except DomainError as exc:
            refused(request, exc)
    jobs = ImportJob.objects.visible_to(request.user).filter(site=site)[:50]
    return render_page(
        request,
        "legacy/imports.html",
        {"site": site, "jobs": jobs, "kinds": ImportJob.Kind.choices},
    )


@require_http_methods(["GET", "HEAD"])
@login_required
def job_page(request: HttpRequest, pk: int) -> HttpResponse:
    _may_import(request)
    job = visible_or_404(request, ImportJob, pk=pk)
    parsed = None
    if job.status != ImportJob.Status.COMMITTED and job.status != ImportJob.Status.COMMITTING:
        parsed = services.parse(job, request.user)  # the dry run, shown; nothing is written
    cols = services.columns(job)
    targets = [(t, job.mapping.get(t.name)) for t in KINDS[job.kind].targets]
    return render_page(
        request,
        "legacy/job.html",
        {
            "job": job,
            "site": job.site,
            "columns": list(enumerate(cols)),
            "targets": targets,
            "parsed": parsed,
            "rows": parsed.good[: services.PREVIEW_ROWS] if parsed else [],
            "machine_codes": list(
                Machine.objects.filter(work_center__site=job.site)
                .order_by("code")
                .values_list("code", flat=True)
            ),
            "progress": services.cache.get(services.progress_key(job.pk)),
            "refresh": job.status == ImportJob.Status.COMMITTING,
        },
    )


@require_POST
@login_required
def job_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    _may_import(request)
    job = visible_or_404(request, ImportJob, pk=pk)
    mapping = {}
    for target in KINDS[job.kind].targets:
        value = request.POST.get(f"map_{target.name}", "")
        mapping[target.name] = int(value) if value.isdigit() else None
    names = {
        key[len("machine_") :]: value
        for key, value in request.POST.items()
        if key.startswith("machine_") and value
    }
    header = request.POST.get("header_row", "")
    try:
        services.set_mapping(
            job,
            actor=request.user,
            mapping=mapping,
            sheet=request.POST.get("sheet") or None,
            header_row=int(header) if header.isdigit() else None,
            machine_names={**job.machine_names, **names} if names else None,
        )
        return redirect("legacy:job", job.pk)
    except DomainError as exc:
        refused(request, exc)
        for field, problems in exc.fields.items():
            messages.error(request, f"{field}: {'; '.join(map(str, problems))}")
    return redirect("legacy:job", job.pk)


@require_POST
@login_required
def job_commit(request: HttpRequest, pk: int) -> HttpResponse:
    _may_import(request)
    job = visible_or_404(request, ImportJob, pk=pk)
    skip = request.POST.get("skip_invalid") == "1"
    try:
        started = services.start_commit(job, actor=request.user)
    except DomainError as exc:
        refused(request, exc)
        return redirect("legacy:job", job.pk)
    if started:
        transaction.on_commit(lambda: commit_import.delay(job.pk, request.user.pk, skip))
    else:
        messages.error(request, _("This import is committed or on its way."))
    return redirect("legacy:job", job.pk)


@require_http_methods(["GET", "HEAD"])
@login_required
def execution_audit(request: HttpRequest, site_code: str) -> HttpResponse:
    """The execution audit of a site over a period; CSV and XLSX with every line."""
    site = site_or_404(request, site_code)
    if not all(request.user.has_perm(p) for p in execution.PERMS):
        raise PermissionDenied
    try:
        first, last, start, end = execution.window(site, request.GET)
    except DomainError as exc:
        messages.error(request, exc.detail)
        first, last, start, end = execution.window(site, {})
    kind = request.GET.get("file")
    if kind in ("csv", "xlsx"):
        rows = (line.cells() for line in execution.lines(request.user, site, start, end))
        name = f"execution-audit-{site.code}"
        if kind == "xlsx":
            return stream_xlsx(execution.HEADER, rows, name, sheet="execution audit")
        return stream_csv(execution.HEADER, rows, name)
    summary, shown = execution.report(request.user, site, start, end)
    return render_page(
        request,
        "legacy/execution_audit.html",
        {
            "site": site,
            "first": first,
            "last": last,
            "summary": summary.as_dict(),
            "lines": shown,
        },
    )
