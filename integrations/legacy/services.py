"""Importing a spreadsheet: upload (the header found, a mapping proposed), map its columns and
the floor's machine names, preview (a dry run that names every row that does not map, and
why), commit (every row in one transaction, or none).

A commit with bad rows is refused and writes nothing (409 ``bad_rows``, each row named)
unless the caller asks to leave them out (``skip_invalid``): then the rows that map come in
and the others stay listed on the job with their reason.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field

from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from mes.audit.context import Channel, channel
from mes.errors import DomainError, InvalidInput, PreconditionFailed
from mes.models import Machine, Site, WorkOrder
from mes.outbox import emit_event
from mes.services.base import authorize, save_with_history

from . import sheets, writers
from .kinds import KINDS, SKIP, BadRow, Context
from .models import ImportJob, MachineAlias
from .sheets import fold

MAX_BYTES = 20 * 1024 * 1024
PREVIEW_ROWS = 50
PERM = "legacy.add_importjob"


@dataclass
class Parsed:
    good: list[tuple[int, dict]] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    skipped: int = 0
    unknown_machines: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return len(self.good) + len(self.errors) + self.skipped


def upload(*, actor, site: Site, kind: str, filename: str, data: bytes) -> ImportJob:
    authorize(actor, PERM, site)
    if kind not in KINDS:
        raise InvalidInput(_("No such kind of import."), code="invalid_kind")
    if not data:
        raise InvalidInput(_("The file is empty."), code="empty_file")
    if len(data) > MAX_BYTES:
        raise InvalidInput(_("The file is larger than 20 MB."), code="file_too_large")
    name = filename.rsplit("/", 1)[-1][:200] or "upload"
    _refuse_bombs(data, name)
    try:
        names = sheets.sheet_names(data, name)
    except sheets.Unreadable as exc:
        raise InvalidInput(
            _("Not a spreadsheet Andon can read (XLSX or CSV)."), code="unreadable_file"
        ) from exc
    sheet = site.code if site.code in names else names[0]
    job = ImportJob(
        site=site,
        kind=kind,
        filename=name,
        sha256=hashlib.sha256(data).hexdigest(),
        sheet="" if sheet == "csv" else sheet,
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    _detect(job, data)
    job.file.save(name, ContentFile(data), save=False)
    with transaction.atomic():
        save_with_history(job, actor=actor, reason="uploaded")
    return job


MAX_UNPACKED = 200 * 1024 * 1024


def _refuse_bombs(data: bytes, name: str) -> None:
    """An XLSX is a zip: one that unpacks to more than 200 MB is refused before any of it
    is read (openpyxl holds a sheet's shared strings in memory)."""
    import io
    import zipfile

    if name.lower().endswith((".csv", ".txt")):
        return
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # not a zip: the reader says it is unreadable
    if unpacked > MAX_UNPACKED:
        raise InvalidInput(_("The workbook unpacks to more than 200 MB."), code="file_too_large")


def _detect(job: ImportJob, data: bytes) -> None:
    """Find the header row and propose a mapping for the job's sheet."""
    targets = KINDS[job.kind].targets
    head = []
    for n, row in enumerate(sheets.read(data, job.filename, job.sheet or None)):
        head.append(row)
        if n >= sheets.HEADER_SCAN:
            break
    at = sheets.find_header(head, targets)
    job.header_row = at + 1
    job.mapping = sheets.propose(head[at] if head else (), targets)


def columns(job: ImportJob) -> list[str]:
    """The header's cells (what the mapping step offers), by index."""
    for n, row in enumerate(_rows(job), 1):
        if n == job.header_row:
            return [sheets.text(c, 60) or f"({n_col + 1})" for n_col, c in enumerate(row)]
    return []


def _rows(job: ImportJob):
    with job.file.open("rb") as handle:
        data = handle.read()
    return sheets.read(data, job.filename, job.sheet or None)


def set_mapping(
    job: ImportJob,
    *,
    actor,
    mapping: dict | None = None,
    sheet: str | None = None,
    header_row: int | None = None,
    machine_names: dict | None = None,
    expected_version: int | None = None,
) -> ImportJob:
    authorize(actor, PERM, job.site)
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if expected_version is not None and expected_version != job.version:
            raise PreconditionFailed(_("The import changed since you read it."))
        if job.status in (ImportJob.Status.COMMITTING, ImportJob.Status.COMMITTED):
            raise DomainError(_("This import is committed."), code="already_committed")
        if sheet is not None and sheet != job.sheet:
            with job.file.open("rb") as handle:
                names = sheets.sheet_names(handle.read(), job.filename)
            if sheet not in names:
                raise InvalidInput(
                    _("No sheet %(sheet)s.") % {"sheet": sheet[:100]},
                    code="invalid_sheet",
                    fields={"sheet": names},
                )
            job.sheet = sheet
            with job.file.open("rb") as handle:
                _detect(job, handle.read())
        if header_row is not None:
            if not 1 <= header_row <= sheets.HEADER_SCAN:
                raise InvalidInput(
                    _("The header is one of the first rows."), code="invalid_header_row"
                )
            job.header_row = header_row
        width = len(columns(job))
        if mapping is not None:
            job.mapping = _clean_mapping(job.kind, mapping, width)
        if machine_names is not None:
            job.machine_names = _clean_machine_names(job.site, machine_names)
        job.status = ImportJob.Status.UPLOADED
        job.version += 1
        save_with_history(job, actor=actor, reason="mapping changed")
    return job


def _clean_mapping(kind: str, mapping: dict, width: int) -> dict:
    targets = {t.name: t for t in KINDS[kind].targets}
    clean, problems = {}, {}
    for name, column in mapping.items():
        if name not in targets:
            problems[name] = [_("Not a field of this import.")]
        elif column in (None, ""):
            clean[name] = None
        elif not isinstance(column, int) or isinstance(column, bool) or not 0 <= column < width:
            problems[name] = [_("Not a column of the header.")]
        else:
            clean[name] = column
    for name, target in targets.items():
        clean.setdefault(name, None)
        if target.required and clean[name] is None and name not in problems:
            problems[name] = [_("Required: pick its column.")]
    if problems:
        raise InvalidInput(
            _("The mapping is not complete."), code="invalid_mapping", fields=problems
        )
    return clean


def _clean_machine_names(site: Site, names: dict) -> dict:
    codes = set(Machine.objects.filter(work_center__site=site).values_list("code", flat=True))
    problems = {
        n: [_("No such machine at this site.")] for n, c in names.items() if c and c not in codes
    }
    if problems:
        raise InvalidInput(_("Unknown machines."), code="invalid_machine", fields=problems)
    return {fold(n): c for n, c in names.items() if c}


def parse(job: ImportJob, actor, *, progress=None) -> Parsed:
    """Every row of the file through the kind's parser (nothing is written)."""
    kind = KINDS[job.kind]
    ctx = _context(job, actor)
    parsed = Parsed()
    for n, row in enumerate(_rows(job), 1):
        if n <= job.header_row or sheets.is_blank(row):
            continue
        cells = {
            name: (row[col] if col is not None and col < len(row) else None)
            for name, col in job.mapping.items()
        }
        try:
            values = kind.parse(cells, ctx)
        except BadRow as exc:
            parsed.errors.append({"row": n, "reason": str(exc)})
            if str(exc).startswith("unknown machine"):
                name = sheets.text(cells.get("machine"), 100)
                parsed.unknown_machines[name] = parsed.unknown_machines.get(name, 0) + 1
            continue
        if values is SKIP:
            parsed.skipped += 1
        else:
            parsed.good.append((n, values))
        if progress is not None and n % 200 == 0:
            progress(n)
    return parsed


def _context(job: ImportJob, actor) -> Context:
    site = job.site
    machines = list(Machine.objects.filter(work_center__site=site))
    by_code = {fold(m.code): m for m in machines}
    by_short = {}
    for m in machines:
        short = m.code.split("-", 1)[1] if "-" in m.code else m.code
        by_short[fold(short)] = m
        by_short[fold(short.replace("-0", " "))] = m
        by_short[fold(short.replace("-", ""))] = m
    by_name: dict[str, list] = {}
    for m in machines:
        by_name.setdefault(fold(m.name), []).append(m)
    aliases = {a.alias: a.machine for a in MachineAlias.objects.filter(site=site)}
    by_code_all = {m.code: m for m in machines}
    chosen = {
        name: by_code_all[code] for name, code in job.machine_names.items() if code in by_code_all
    }

    def machine_of(text: str):
        name = fold(text)
        found = chosen.get(name) or aliases.get(name) or by_code.get(name) or by_short.get(name)
        if found is not None:
            return found
        named = by_name.get(name, [])
        if len(named) == 1:
            return named[0]
        if named:
            codes = ", ".join(m.code for m in named)
            raise BadRow(f"ambiguous machine {text!r}: {codes}")
        raise BadRow(f"unknown machine {text!r}")

    orders = WorkOrder.objects.visible_to(actor) if actor is not None else WorkOrder.objects.all()

    @functools.cache  # a tracker names the same orders row after row: one lookup each
    def order_of(token: str):
        """The order a cell names: its number in any case, or a bare number ("004638")
        that ends exactly one order's number; else None."""
        found = orders.select_related("site").filter(erp_number__iexact=token).first()
        if found is None and token.isdigit() and len(token) >= 3:
            ends = list(
                orders.select_related("site").filter(
                    Q(erp_number__endswith=f"/{token}") | Q(erp_number__endswith=f"-{token}")
                )[:2]
            )
            found = ends[0] if len(ends) == 1 else None
        return found

    sites = Site.objects.visible_to(actor) if actor is not None else Site.objects.all()

    @functools.cache
    def site_of_code(code: str):
        return sites.filter(code__iexact=code).first()

    return Context(site=site, machine_of=machine_of, order_of=order_of, site_of_code=site_of_code)


def preview(job: ImportJob, *, actor) -> tuple[ImportJob, Parsed]:
    """The dry run: counts and every bad row kept on the job; nothing else is written."""
    authorize(actor, PERM, job.site)
    parsed = parse(job, actor)
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.status != ImportJob.Status.COMMITTED:
            _count(job, parsed)
            job.status = ImportJob.Status.PREVIEWED
            job.save(update_fields=["total_rows", "good_rows", "skipped_rows", "errors", "status"])
    return job, parsed


MAX_ERRORS_KEPT = 1000


def _count(job: ImportJob, parsed: Parsed) -> None:
    job.total_rows = parsed.total
    job.good_rows = len(parsed.good)
    job.skipped_rows = parsed.skipped
    job.errors = parsed.errors[:MAX_ERRORS_KEPT]
    if len(parsed.errors) > MAX_ERRORS_KEPT:
        more = len(parsed.errors) - MAX_ERRORS_KEPT
        job.errors.append({"row": 0, "reason": f"… and {more} more rows that do not map"})


def progress_key(job_id: int) -> str:
    return f"andon:import-progress:{job_id}"


def start_commit(job: ImportJob, *, actor) -> bool:
    """The page's commit, first step: the job marked committing (history); the caller then
    sends the commit as a task (``tasks.commit_import``), and the page shows its progress.
    False when the job is committed or already on its way."""
    authorize(actor, PERM, job.site)
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.status in (ImportJob.Status.COMMITTING, ImportJob.Status.COMMITTED):
            return False
        job.status = ImportJob.Status.COMMITTING
        save_with_history(job, actor=actor, reason="commit started", fields=["status"])
    return True


def mark_failed(job_id: int, detail: str | None = None) -> None:
    """A commit the task could not finish: the job leaves "committing" (history), with
    ``detail`` as its one error unless its bad rows are already listed."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status == ImportJob.Status.COMMITTED:
            return
        job.status = ImportJob.Status.FAILED
        if detail:
            job.errors = [{"row": 0, "reason": detail[:300]}]
        save_with_history(job, actor=None, reason="commit failed", fields=["status", "errors"])


def commit(job: ImportJob, *, actor, skip_invalid: bool = False) -> ImportJob:
    """Write every row that maps, in one transaction; refused (nothing written) while any
    row does not, unless ``skip_invalid``."""
    authorize(actor, PERM, job.site)
    if job.status == ImportJob.Status.COMMITTED:
        raise DomainError(_("This import is committed."), code="already_committed")
    twin = (
        ImportJob.objects.filter(
            site=job.site, kind=job.kind, sha256=job.sha256, status=ImportJob.Status.COMMITTED
        )
        .exclude(pk=job.pk)
        .first()
    )
    if twin is not None:
        raise DomainError(
            _("This file was imported already (%(name)s).") % {"name": twin.filename},
            code="already_imported",
        )
    key = progress_key(job.pk)
    parsed = parse(
        job, actor, progress=lambda n: cache.set(key, {"phase": "reading", "row": n}, 600)
    )
    if parsed.errors and not skip_invalid:
        with transaction.atomic():
            locked = ImportJob.objects.select_for_update().get(pk=job.pk)
            _count(locked, parsed)
            locked.save(update_fields=["total_rows", "good_rows", "skipped_rows", "errors"])
        raise DomainError(
            _("%(n)s rows do not map: nothing was imported.") % {"n": len(parsed.errors)},
            code="bad_rows",
            fields={"rows": [f"{e['row']}: {e['reason']}" for e in parsed.errors]},
        )
    with channel(Channel.IMPORT), transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.status == ImportJob.Status.COMMITTED:
            raise DomainError(_("This import is committed."), code="already_committed")
        writers.save_aliases(job, actor)
        written = writers.WRITERS[job.kind](
            job, parsed.good, actor, lambda n: cache.set(key, {"phase": "writing", "row": n}, 600)
        )
        _count(job, parsed)
        job.done_rows = written
        job.status = ImportJob.Status.COMMITTED
        job.committed_at = timezone.now()
        job.version += 1
        save_with_history(job, actor=actor, reason=f"committed: {written} rows")
        emit_event(
            "legacy.imported",
            aggregate=job,
            site=job.site,
            actor=actor,
            reason=job.filename,
            payload={
                "import_id": job.pk,
                "kind": job.kind,
                "site": job.site.code,
                "filename": job.filename,
                "rows": written,
                "bad_rows": len(parsed.errors),
            },
        )
    cache.delete(key)
    return job
