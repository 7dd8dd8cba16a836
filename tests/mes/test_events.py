"""The event catalogue: every emitted type is catalogued, every catalogued type is emitted,
and emit_event refuses what the catalogue does not list."""

import ast
import importlib
import inspect
from pathlib import Path

import pytest

from mes.events import ERP, NOTIFICATIONS, PayloadMismatch, UnknownEventType, catalogue
from mes.models import OutboxEvent, Site
from mes.outbox import Subscriber, emit_event

ROOT = Path(__file__).resolve().parents[2]
APPS = ("mes", "exceptions", "quality", "integrations", "andon")
EMITTERS = {
    "emit_event",
    "emit_events",
    "emit_ticket_event",
    "ticket_event",  # the arguments of a ticket event for emit_events (bulk paths)
    "emit",
    "note_rule_effect",
}


def _source_files():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def _emitted_literals() -> dict[str, list[str]]:
    """Event types named as literals in emit calls: ``emit_event("x.y", ...)``,
    ``note_rule_effect(..., event_type="x.y")``, ``emit_events([{"event_type": "x.y"}])``."""
    found: dict[str, list[str]] = {}

    def add(node, where):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.setdefault(node.value, []).append(where)

    for path in _source_files():
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            for keyword in node.keywords:  # any helper handing a type on: event_type="x.y"
                if keyword.arg == "event_type":
                    add(keyword.value, where)
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in EMITTERS:
                continue
            if node.args:
                add(node.args[0], where)
            for inner in ast.walk(node):
                if isinstance(inner, ast.Dict):
                    for key, value in zip(inner.keys, inner.values, strict=True):
                        if isinstance(key, ast.Constant) and key.value == "event_type":
                            add(value, where)
    return found


def test_every_emitted_type_is_catalogued():
    emitted = _emitted_literals()
    assert emitted, "the scan found no emit calls at all"
    unknown = {t: where for t, where in emitted.items() if t not in catalogue}
    assert unknown == {}


def _resolve(dotted: str):
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_every_catalogued_type_has_an_emitter_that_names_it():
    problems = []
    for entry in catalogue.values():
        assert entry.emitted_by, f"{entry.name} names no emitter"
        sources = [inspect.getsource(_resolve(dotted)) for dotted in entry.emitted_by]
        if not any(f'"{entry.name}"' in source for source in sources):
            problems.append(f"{entry.name}: not named in {', '.join(entry.emitted_by)}")
    assert problems == []


def test_every_catalogued_type_is_emitted_somewhere():
    emitted = set(_emitted_literals())
    # save_master_record picks its type from a table of literals, the only emitter that does
    master = {name for name in catalogue if name.endswith((".created", ".changed"))}
    assert set(catalogue.names()) - emitted - master == set()


@pytest.mark.django_db
def test_emit_event_refuses_an_unknown_type_and_a_payload_off_the_catalogue():
    site = Site.objects.create(code="X", name="X")
    with pytest.raises(UnknownEventType):
        emit_event("exception.exploded", aggregate=site, site=site, payload={})
    with pytest.raises(PayloadMismatch, match="lacks code"):
        emit_event("site.changed", aggregate=site, site=site, payload={"id": site.pk})
    with pytest.raises(PayloadMismatch, match="uncatalogued colour"):
        emit_event(
            "site.changed",
            aggregate=site,
            site=site,
            payload={"id": site.pk, "code": "X", "colour": "red"},
        )
    assert OutboxEvent.objects.count() == 0
    emit_event("site.changed", aggregate=site, site=site, payload={"id": site.pk, "code": "X"})
    assert OutboxEvent.objects.count() == 1


def test_an_audience_subscriber_sees_only_the_types_open_to_it():
    erp = Subscriber("t", ("*",), lambda e: None, audience=ERP)
    notify = Subscriber("t", ("exception.*",), lambda e: None, audience=NOTIFICATIONS)
    internal = Subscriber("t", ("exception.*",), lambda e: None)
    assert erp.wants("operation.confirmed") and erp.wants("exception.resolved")
    assert not erp.wants("exception.raised") and not erp.wants("work_order.created")
    assert notify.wants("exception.escalated") and not notify.wants("exception.commented")
    assert internal.wants("exception.commented")


def test_the_erp_form_offers_exactly_the_emitted_types_catalogued_for_erps():
    from integrations.erp.admin import ErpEndpointForm

    offered = {value for value, _label in ErpEndpointForm().fields["event_types"].choices}
    assert offered == {t.name for t in catalogue.for_audience(ERP)}
    assert "exception.resolved" in offered
    assert "exception.raised" not in offered


def test_the_generated_reference_pages_are_current():
    """docs/events.md and docs/registries.md: run `manage.py andon_docs` after a change."""
    from django.core.management import call_command

    call_command("andon_docs", "--check")
