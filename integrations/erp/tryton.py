"""The Tryton adapter: production orders in by polling Tryton's REST API, outcomes back.

Endpoint fields: ``base_url`` is the database's URL (``http://erp:8000/<database>/``),
``auth_value`` a Tryton REST key (a ``res.user.application`` of kind ``rest``, validated; the
calls run as its user, who needs the production and stock groups), ``account`` the Andon
account orders are imported as (role ``erp_integration``, with the sites it feeds). ``options``:

- ``warehouses``: Tryton warehouse code -> Andon site code; productions of other warehouses
  are left alone.
- ``routing``: the operations every imported order gets (Tryton's ``production`` module
  carries no routing): ``[{"sequence", "work_center", "setup_minutes",
  "run_minutes_per_unit"}]``.
- ``states``: which productions are imported (default waiting, assigned, running).

**Import** (:func:`sync`, the admin's "Sync now" and the periodic task): every production of
those states, and the cancelled ones Andon knows, becomes a record of the inbound batch path
(``inbound.ingest``), so it gets the same checks and answers as a batch the ERP sends: new
orders are created, changed ones updated, or ``order_change`` raised once the floor started
them; the version is the production's last write (Unix microseconds). Unknown products are
added as items first. The last run's counts are kept on the endpoint.

**Outcomes** (:class:`TrytonAdapter`): ``work_order.completed`` posts the good quantity of the
last operation as the production's output and moves it to ``done`` (wait, assign, run, do:
from wherever it is); ``work_order.cancelled`` cancels it. Each step first reads the state, so
a retry after a lost answer resumes instead of repeating. Network errors, 429 and 5xx are
retried; a refusal (400: e.g. a quantity the unit cannot hold, 401/403/404) is a dead letter.

Tryton's JSON encodes dates and decimals as objects (``{"__class__": "date", ...}``):
:mod:`integrations.erp.tryton_json` speaks it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mes.choices import ItemKind, Unit
from mes.models import Item, Site, WorkCenter, WorkOrder

from . import inbound
from .destinations import excerpt
from .models import ErpDelivery, ErpEndpoint
from .outbound.adapters import Outcome, SyncFailed, record_sync
from .tryton_json import dumps
from .tryton_rest import PAGE, TrytonError, TrytonRest

DEFAULT_STATES = ["waiting", "assigned", "running"]
CANCELLED_MARGIN = dt.timedelta(hours=1)
FIELDS = [
    "number",
    "reference",
    "product.code",
    "product.name",
    "unit.symbol",
    "quantity",
    "planned_date",
    "planned_start_date",
    "state",
    "warehouse.code",
    "create_date",
    "write_date",
]
UNITS = {"u": Unit.PCS, "kg": Unit.KG, "m": Unit.M}


# --- options --------------------------------------------------------------------------------


def option_errors(options) -> list[str]:
    """What is wrong with a Tryton endpoint's ``options`` (for the admin form)."""
    if not isinstance(options, dict):
        return [_("The options are a JSON object.")]
    errors = []
    warehouses = options.get("warehouses")
    if not isinstance(warehouses, dict) or not warehouses:
        errors.append(_('"warehouses" maps Tryton warehouse codes to site codes.'))
    elif not all(isinstance(code, str) for code in warehouses.values()):
        errors.append(_('"warehouses" maps Tryton warehouse codes to site codes.'))
    else:
        known = set(
            Site.objects.filter(code__in=warehouses.values()).values_list("code", flat=True)
        )
        unknown = sorted(set(warehouses.values()) - known)
        if unknown:
            errors.append(_("Unknown sites: %(codes)s.") % {"codes": ", ".join(unknown)})
    routing = options.get("routing")
    if not isinstance(routing, list) or not routing:
        errors.append(_('"routing" lists the operations imported orders get.'))
    else:
        shape = inbound.OperationIn(data=routing, many=True)
        if not shape.is_valid():
            errors.append(_("routing: %(errors)s") % {"errors": shape.errors})
        elif isinstance(warehouses, dict) and all(isinstance(c, str) for c in warehouses.values()):
            errors += _missing_work_centers(shape.validated_data, set(warehouses.values()))
    states = options.get("states", DEFAULT_STATES)
    if (
        not isinstance(states, list)
        or not all(isinstance(s, str) for s in states)
        or not set(states) <= set(DEFAULT_STATES)
    ):
        # A draft production has no number yet: it comes once Tryton makes it waiting.
        errors.append(
            _('"states": some of waiting, assigned, running (a draft has no number yet).')
        )
    return errors


def _missing_work_centers(routing: list[dict], sites: set[str]) -> list[str]:
    """Every imported order gets the routing: its work centers must exist at every site the
    warehouses map to (else every order would be rejected on every sync)."""
    wanted = {op["work_center"] for op in routing}
    found = set(
        WorkCenter.objects.filter(code__in=wanted, site__code__in=sites).values_list(
            "site__code", "code"
        )
    )
    return [
        _("routing: work center %(wc)s does not exist at %(site)s.") % {"wc": wc, "site": site}
        for site in sorted(sites)
        for wc in sorted(wanted)
        if (site, wc) not in found
    ]


# --- import -----------------------------------------------------------------------------------


def sync(endpoint: ErpEndpoint) -> dict:
    """Import the endpoint's Tryton productions (see the module doc). Returns the summary kept
    on the endpoint: counts per result status, ``skipped`` and the first rejections."""
    actor = endpoint.account
    if actor is None or not actor.is_active or not actor.has_perm("erp.ingest_erp"):
        raise SyncFailed(_("The endpoint needs an active ERP account (role erp_integration)."))
    options = endpoint.options or {}
    problems = option_errors(options)
    if problems:
        raise SyncFailed(" ".join(problems))
    served = set(endpoint.sites.values_list("code", flat=True))
    unserved = sorted(set(options["warehouses"].values()) - served)
    if unserved:
        # The account may hold more sites than the endpoint serves: an endpoint imports
        # into its own sites only, whatever its options say.
        raise SyncFailed(
            _("Warehouses map to sites this endpoint does not serve: %(codes)s.")
            % {"codes": ", ".join(unserved)}
        )
    started = timezone.now()
    # Cancellations are looked for since the last successful poll (an hour's margin for
    # clocks); after a failed one (or the first), among all cancelled productions.
    last = parse_datetime((endpoint.sync_summary or {}).get("polled_at") or "")
    since = last - CANCELLED_MARGIN if last else None
    try:
        productions = list(_productions(endpoint, options.get("states", DEFAULT_STATES), since))
    except TrytonError as exc:
        raise SyncFailed(str(exc), details=exc.details) from exc
    records, skipped, undated = _records(productions, options)
    _add_items(productions, records, actor)
    results = []
    for start in range(0, len(records), inbound.MAX_BATCH):
        results += inbound.ingest("orders", records[start : start + inbound.MAX_BATCH], actor=actor)
    versions = {r["erp_number"]: r["erp_version"] for r in records}
    versions.update({r["erp_number"]: r["erp_version"] for r in undated})
    results += undated
    problems = [
        {"erp_version": versions.get(r["erp_number"])}
        | {k: r.get(k) for k in ("erp_number", "status", "code", "detail", "order_change")}
        for r in results
        if r["status"] in ("rejected", "stale") or r.get("applied") is False
    ]
    summary = {
        **inbound.summarize(results),
        "polled_at": started.isoformat(),
        "skipped": skipped,
        "productions": len(productions),
        "problems": problems[:20],
        # every rejection the owner was told of, while it stands (not only the 20 shown)
        "notified": [list(_key(p)) for p in problems if p["status"] == "rejected"][:5000],
    }
    before = endpoint.sync_summary or {}
    record_sync(endpoint, summary)
    _tell_new_rejections(endpoint, before, problems)
    return summary


def _key(problem: dict) -> tuple:
    return (problem.get("erp_number"), problem.get("erp_version"), problem.get("code"))


def _tell_new_rejections(endpoint: ErpEndpoint, before: dict, problems: list[dict]) -> None:
    """The owner hears of a rejected production once, until Tryton changes it (its version):
    a rejection repeated on every poll is not repeated to them."""
    told = {tuple(k) for k in before.get("notified", []) if isinstance(k, list)}
    new = [p for p in problems if p["status"] == "rejected" and _key(p) not in told]
    if new and endpoint.owner_id is not None:
        from mes.notifications import Message, send

        lines = [f"{p['erp_number']}: {p.get('detail') or p.get('code')}" for p in new[:10]]
        if not ErpEndpoint.objects.manageable_by(endpoint.owner).filter(pk=endpoint.pk).exists():
            lines = []  # the owner does not see every site served: the count and the link only
        send(
            Message(
                "erp_sync_failed",
                [endpoint.owner],
                title=_("%(endpoint)s: %(n)s productions refused")
                % {"endpoint": endpoint.name, "n": len(new)},
                body="\n".join(lines)[:500],
                link=f"/admin/erp/erpendpoint/{endpoint.pk}/change/",
                related=endpoint,
            )
        )


def _productions(endpoint: ErpEndpoint, states: list[str], cancelled_since):
    cancelled = [["state", "=", "cancelled"]]
    if cancelled_since is not None:
        cancelled.append(["write_date", ">=", cancelled_since.astimezone(dt.UTC)])
    domain = ["OR", [["state", "in", states]], cancelled]
    with TrytonRest(endpoint) as tryton:
        offset = 0
        while True:
            page = tryton.search(
                "production",
                domain,
                FIELDS,
                offset=offset,
                order=[["id", "ASC"]],
            )
            if not isinstance(page, list):
                raise TrytonError(_("Tryton's search did not answer a list."))
            yield from page
            if len(page) < PAGE:
                return
            offset += PAGE


def _nested(record: dict, field: str):
    """What a dotted field (``field.name``) brought back: REST nests it under ``field``,
    JSON-RPC under ``"field."``."""
    value = record.get(field)
    return value if isinstance(value, dict | list) else record.get(f"{field}.")


def _sub(production: dict, field: str, name: str):
    return (_nested(production, field) or {}).get(name)


def _records(productions: list[dict], options: dict) -> tuple[list[dict], int, list[dict]]:
    """Batch records for the productions of mapped warehouses; cancelled ones only when Andon
    has the order. Returns (records, how many productions were skipped, the answers for
    productions without a date, which are not sent: Andon needs a due date)."""
    warehouses = options["warehouses"]
    cancelled = [p for p in productions if p["state"] == "cancelled" and p.get("number")]
    known = set()
    if cancelled:
        keys = Q()
        for p in cancelled:
            site = warehouses.get(_sub(p, "warehouse", "code"))
            if site:
                keys |= Q(site__code=site, erp_number=p["number"])
        if keys:
            known = set(WorkOrder.objects.filter(keys).values_list("site__code", "erp_number"))
    records, skipped, undated = [], 0, []
    for p in productions:
        site = warehouses.get(_sub(p, "warehouse", "code"))
        if not site or not p.get("number"):
            skipped += 1
            continue
        if p["state"] == "cancelled" and (site, p["number"]) not in known:
            skipped += 1
            continue
        due = p.get("planned_date") or p.get("planned_start_date")
        changed = p.get("write_date") or p.get("create_date")
        if due is None and p["state"] == "cancelled":
            due = timezone.localdate()  # a cancellation changes no date: any will do
        if due is None:
            undated.append(
                {
                    "erp_number": p["number"],
                    "erp_version": int(changed.timestamp() * 1_000_000) if changed else 0,
                    "status": "rejected",
                    "code": "no_planned_date",
                    "detail": _(
                        "Production %(n)s has no planned date in Tryton (planned date or "
                        "planned start date): set one and it comes at the next sync."
                    )
                    % {"n": p["number"]},
                }
            )
            continue
        record = {
            "erp_number": p["number"],
            "site": site,
            "item": _sub(p, "product", "code"),
            "quantity": str(p.get("quantity")),
            "due_date": due.isoformat() if due else None,
            "erp_version": int(changed.timestamp() * 1_000_000) if changed else 0,
            "reference": (p.get("reference") or "")[:100],
            "operations": options["routing"],
        }
        if p["state"] == "cancelled":
            record["status"] = inbound.CANCELLED
        records.append(record)
    return records, skipped, undated


def _add_items(productions: list[dict], records: list[dict], actor) -> None:
    """Products Andon does not know yet become items (finished goods)."""
    wanted = {r["item"] for r in records if r.get("item")}
    missing = wanted - set(Item.objects.filter(code__in=wanted).values_list("code", flat=True))
    items = {}
    for p in productions:
        code = _sub(p, "product", "code")
        if code in missing and code not in items:
            items[code] = {
                "code": code,
                "name": (_sub(p, "product", "name") or code)[:200],
                "kind": ItemKind.FINISHED,
                "unit": UNITS.get(_sub(p, "unit", "symbol"), Unit.PCS),
            }
    if items:
        inbound.ingest("items", list(items.values()), actor=actor)


# --- outcomes -------------------------------------------------------------------------------


class TrytonAdapter:
    name = "tryton"
    label = gettext_lazy("Tryton (REST)")
    pushes = True
    event_types = ("work_order.completed", "work_order.cancelled")
    sync = staticmethod(sync)
    option_errors = staticmethod(option_errors)

    def deliver(self, endpoint: ErpEndpoint, delivery: ErpDelivery, body: dict) -> Outcome:
        event = delivery.event
        payload = event.payload if isinstance(event.payload, dict) else {}
        if event.type not in self.event_types:
            return Outcome(False, error=f"the Tryton adapter does not send {event.type}")
        try:
            with TrytonRest(endpoint) as tryton:
                production = _find(tryton, payload.get("erp_number"))
                if event.type == "work_order.completed":
                    result = _finish(tryton, production, Decimal(payload.get("good_qty") or 0))
                else:
                    result = _cancel(tryton, production)
        except TrytonError as exc:
            return Outcome(
                False,
                status=exc.status,
                error=excerpt(str(exc)),
                retry=exc.retry,
                response=exc.details,
            )
        return Outcome(True, status=200, response=excerpt(dumps(result)))


def _find(tryton: TrytonRest, number) -> dict:
    found = tryton.search(
        "production", [["number", "=", number]], ["state", "product", "outputs"], limit=2
    )
    if len(found) != 1:
        raise TrytonError(
            _("Tryton has %(n)s productions numbered %(number)s.")
            % {"n": len(found), "number": number},
            status=404,
        )
    return found[0]


def _finish(tryton: TrytonRest, production: dict, quantity: Decimal) -> dict:
    """Output quantity, then ``done``: each step from the state Tryton reports now."""
    pk, state = production["id"], production["state"]
    for _step in range(3):  # draft -> waiting -> assigned -> running
        if state == "draft":
            tryton.button("production", pk, "wait")
        elif state == "waiting":
            tryton.button("production", pk, "assign_try")
            if tryton.read("production", pk, ["state"])["state"] == "waiting":
                # Tryton sees the stock short, but the floor made it: force the assignment.
                tryton.button("production", pk, "assign_force")
        elif state == "assigned":
            tryton.button("production", pk, "run")
        else:
            break
        state = tryton.read("production", pk, ["state"])["state"]
    if state == "done":
        return tryton.read("production", pk, ["number", "state", "outputs.quantity"])
    if state != "running":
        raise TrytonError(
            _("Production %(id)s is %(state)s in Tryton.") % {"id": pk, "state": state},
            status=409,
        )
    outputs = tryton.read("production", pk, ["product", "outputs.product", "outputs.quantity"])
    product = _id(outputs["product"])
    moves = [m for m in _nested(outputs, "outputs") or [] if _id(m.get("product")) == product]
    if not moves:
        raise TrytonError(_("Production %(id)s has no output move.") % {"id": pk}, status=409)
    tryton.write("stock.move", moves[0]["id"], {"quantity": float(quantity)})
    tryton.button("production", pk, "do")
    return tryton.read("production", pk, ["number", "state", "outputs.quantity"])


def _id(value):
    return value.get("id") if isinstance(value, dict) else value


def _cancel(tryton: TrytonRest, production: dict) -> dict:
    pk, state = production["id"], production["state"]
    if state not in ("cancelled", "done"):
        tryton.button("production", pk, "cancel")
    return tryton.read("production", pk, ["number", "state"])
