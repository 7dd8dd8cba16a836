"""Writing an import's rows (inside the commit's transaction): the logs in bulk with their
history rows, reason codes and accounts through the core's services (each with history and
its event; an account only within what the importer may grant)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils.translation import gettext as _

from mes.audit.context import history_stamps
from mes.errors import DomainError, InvalidInput, NotPermitted
from mes.models import DowntimeReason, Site
from mes.models.access import sees_every_site
from mes.services import save_master_record
from mes.services.accounts import save_account

from .models import ImportJob, LegacyDowntime, LegacyException, MachineAlias
from .sheets import fold

CHUNK = 500


def save_aliases(job: ImportJob, actor) -> None:
    """The machine names the importer mapped are kept for the next import of the site."""
    known = set(MachineAlias.objects.filter(site=job.site).values_list("alias", flat=True))
    from mes.models import Machine

    machines = {m.code: m for m in Machine.objects.filter(work_center__site=job.site)}
    for alias, code in job.machine_names.items():
        if alias not in known and code in machines:
            row = MachineAlias(site=job.site, alias=alias, machine=machines[code])
            row._history_user = actor if actor is not None and actor.is_authenticated else None
            row._change_reason = f"named in {job.filename}"[:100]
            row.save()


def _bulk(model, rows: list, actor, reason: str, progress) -> int:
    user = actor if actor is not None and actor.is_authenticated else None
    for start in range(0, len(rows), CHUNK):
        chunk = model.objects.bulk_create(rows[start : start + CHUNK])
        for row in chunk:
            row._change_reason = reason[:100]
        model.history.bulk_history_create(
            chunk, default_user=user, custom_historical_attrs=history_stamps()
        )
        progress(start + len(chunk))
    return len(rows)


def downtimes(job: ImportJob, good: list, actor, progress) -> int:
    reasons = {}
    for r in DowntimeReason.objects.all():
        reasons[fold(r.name)] = r
        reasons[fold(r.code)] = r
    rows = [
        LegacyDowntime(
            site=job.site, job=job, row=n, reason=reasons.get(fold(v["reason_text"])), **v
        )
        for n, v in good
    ]
    return _bulk(LegacyDowntime, rows, actor, f"imported from {job.filename}", progress)


def exceptions(job: ImportJob, good: list, actor, progress) -> int:
    rows = [LegacyException(job=job, row=n, **v) for n, v in good]
    return _bulk(LegacyException, rows, actor, f"imported from {job.filename}", progress)


def reason_codes(job: ImportJob, good: list, actor, progress) -> int:
    """Parents first (a row may name one further down); a code already there is updated.
    The reason tree is every site's: only who sees every site changes it."""
    if actor is not None and not sees_every_site(actor):
        raise NotPermitted(
            _("Only who sees every site changes what every site shares."),
            code="shared_configuration",
        )
    by_code = {r.code: r for r in DowntimeReason.objects.all()}
    categories = set(DowntimeReason.Category.values)
    pending = list(good)
    written = 0
    while pending:
        later = []
        for n, v in pending:
            parent = by_code.get(v["parent"]) if v["parent"] else None
            if v["parent"] and parent is None:
                later.append((n, v))
                continue
            reason = by_code.get(v["code"]) or DowntimeReason(code=v["code"])
            reason.name, reason.parent, reason.planned = v["name"], parent, v["planned"]
            category = v["category"] if v["category"] in categories else None
            reason.category = category or (parent.category if parent else "other")
            if v["planned"]:
                reason.category = "planned"
            by_code[v["code"]] = save_master_record(
                reason, actor=actor, reason=f"imported from {job.filename}"
            )
            written += 1
        if len(later) == len(pending):
            n, v = later[0]
            raise InvalidInput(
                _("Row %(row)s: no reason code %(parent)s.") % {"row": n, "parent": v["parent"]},
                code="bad_rows",
                fields={"rows": [f"{n}: no parent {v['parent']!r}" for n, v in later]},
            )
        pending = later
        progress(written)
    return written


def users(job: ImportJob, good: list, actor, progress) -> int:
    """Accounts through ``save_account``: a role or site the importer may not grant refuses
    the whole import (nothing is written)."""
    model = get_user_model()
    groups = {g.name: g for g in Group.objects.all()}
    sites = (
        {s.code: s for s in Site.objects.visible_to(actor)}
        if actor
        else {s.code: s for s in Site.objects.all()}
    )
    for count, (n, v) in enumerate(good, 1):
        role = groups.get(v["role"])
        if role is None:
            raise InvalidInput(
                _("Row %(row)s: no role %(role)s.") % {"row": n, "role": v["role"]},
                code="bad_rows",
                fields={"rows": [f"{n}: no role {v['role']!r}"]},
            )
        chosen = [sites[c] for c in v["sites"] if c in sites] or [job.site]
        missing = [c for c in v["sites"] if c not in sites]
        if missing:
            raise InvalidInput(
                _("Row %(row)s: no site %(site)s.") % {"row": n, "site": missing[0]},
                code="bad_rows",
                fields={"rows": [f"{n}: no site {missing[0]!r}"]},
            )
        user = model.objects.filter(username=v["username"]).first()
        if user is None:
            user = model(username=v["username"])
            user.set_unusable_password()
        user.first_name, user.last_name, user.email = v["first_name"], v["last_name"], v["email"]
        try:
            save_account(
                user,
                actor=actor,
                reason=f"imported from {job.filename}",
                roles=[role],
                sites=chosen,
            )
        except DomainError as exc:
            raise InvalidInput(
                _("Row %(row)s: %(why)s") % {"row": n, "why": exc.detail},
                code="bad_rows",
                fields={"rows": [f"{n}: {exc.detail}"]},
            ) from exc
        progress(count)
    return len(good)


WRITERS = {
    "downtime_log": downtimes,
    "exception_log": exceptions,
    "reason_codes": reason_codes,
    "users": users,
}
