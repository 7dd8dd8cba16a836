"""The vocabulary of routing rules: the registries of conditions and actions, the built-in
conditions, and the check of a rule being saved. No service here: the model's ``clean()``
uses it, and the engine (:mod:`exceptions.rules`) registers the actions that call services.

Adding an action (later capabilities do this from a module of theirs)::

    from exceptions.rule_registry import Param, actions

    @actions.register("open_quality_hold", label="Open a hold", params={"reason": Param(str)})
    def open_quality_hold(ticket, rule, params):
        ...                      # call a service; return a short description, or None if
        return "held lot L-1"    # nothing was done
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

from mes.registry import Registry
from mes.roles import ROLES

from .choices import Category, FieldOperator, Severity
from .schema import fields as schema_fields
from .schema import same_value

if TYPE_CHECKING:
    from .models import ExceptionTicket, RoutingRule


# --- registries -------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    kind: type | str  # str, list, or "role", "roles", "severity", "username"
    required: bool = True


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    apply: Callable[[ExceptionTicket, RoutingRule, dict], str | None]
    params: dict[str, Param] = field(default_factory=dict)


class ActionRegistry(Registry[Action]):
    """Rule actions: ``@actions.register("name", label=..., params={...})``."""

    def build(self, key: str, value, *, label, params: dict[str, Param] | None = None) -> Action:
        return Action(key, label, value, params or {})


actions = ActionRegistry("rule actions", "What a routing rule can do when it matches.")

Condition = Callable[["RoutingRule", "ExceptionTicket"], bool]
conditions: Registry[Condition] = Registry(
    "rule conditions", "Checks a routing rule makes; all must hold for it to match."
)


def condition(name: str):
    return conditions.register(name)


# --- conditions -------------------------------------------------------------------------


@condition("types")
def _types(rule, ticket) -> bool:
    ids = {t.pk for t in rule.types.all()}
    return not ids or ticket.type_id in ids


@condition("categories")
def _categories(rule, ticket) -> bool:
    return not rule.categories or ticket.type.category in rule.categories


@condition("sites")
def _sites(rule, ticket) -> bool:
    ids = {s.pk for s in rule.sites.all()}
    return not ids or ticket.site_id in ids


@condition("work_centers")
def _work_centers(rule, ticket) -> bool:
    ids = {w.pk for w in rule.work_centers.all()}
    return not ids or ticket.work_center_id in ids


@condition("when_unrouted")
def _when_unrouted(rule, ticket) -> bool:
    return not rule.when_unrouted or (ticket.queue_id is None and ticket.assignee_id is None)


@condition("severities")
def _severities(rule, ticket) -> bool:
    return not rule.severities or ticket.severity in rule.severities


def _number(value):
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def compare(op: str, actual, expected) -> bool:
    """One form-field comparison; a missing field or mismatched types never match."""
    if op == FieldOperator.EQUALS:
        return actual == expected
    if op == FieldOperator.NOT_EQUALS:
        return actual != expected
    if op == FieldOperator.IN:
        return isinstance(expected, list) and actual in expected
    if op == FieldOperator.CONTAINS:
        if isinstance(actual, str):
            return str(expected).lower() in actual.lower()
        return isinstance(actual, list) and expected in actual
    if op in (FieldOperator.GREATER, FieldOperator.LESS):
        a, e = _number(actual), _number(expected)
        if a is None or e is None or isinstance(actual, bool):
            return False
        return a > e if op == FieldOperator.GREATER else a < e
    return False


@condition("field_conditions")
def _fields(rule, ticket) -> bool:
    return all(
        c["field"] in ticket.data and compare(c["op"], ticket.data[c["field"]], c.get("value"))
        for c in rule.field_conditions
    )


def rule_matches(rule: RoutingRule, ticket: ExceptionTicket) -> bool:
    return all(check(rule, ticket) for check in conditions.values())


# --- validation of rules (admin) --------------------------------------------------------


def _param_problem(param: Param, value) -> str | None:
    if param.kind == "role":
        return None if value in ROLES else _("%(v)r is not a role.") % {"v": value}
    if param.kind == "roles":
        if not isinstance(value, list) or not value or any(v not in ROLES for v in value):
            return _("must be a list of roles (%(roles)s).") % {"roles": ", ".join(ROLES)}
        return None
    if param.kind == "severity":
        return (
            None
            if value in Severity.values
            else _("must be one of %(s)s.") % {"s": ", ".join(Severity.values)}
        )
    if param.kind == "username":  # whether the saver may name that account: unknown_users
        return None if isinstance(value, str) and value else _("must be a username.")
    if isinstance(param.kind, type) and not isinstance(value, param.kind):
        return _("must be a %(t)s.") % {"t": param.kind.__name__}
    return None


def unknown_users(rule: RoutingRule, accounts) -> list[str]:
    """Problems of the accounts the rule's actions name that are not among ``accounts`` (the
    saver's: :func:`mes.access.users_visible_to`), all told alike, so that a rule's form
    never tells whether another site's account exists."""
    named = []
    for i, entry in enumerate(rule.actions if isinstance(rule.actions, list) else [], start=1):
        action = actions.get(entry.get("action")) if isinstance(entry, dict) else None
        for name, param in action.params.items() if action else ():
            if param.kind == "username" and isinstance(entry.get(name), str):
                named.append((i, name, entry[name]))
    known = set(
        accounts.filter(username__in=[v for _i, _n, v in named]).values_list("username", flat=True)
    )
    return [
        f"{i}. {name}: " + _("no user %(v)r.") % {"v": value}
        for i, name, value in named
        if value not in known
    ]


def rule_problems(rule: RoutingRule) -> dict[str, list[str]]:
    """Field -> problems for a rule being saved (empty: fine)."""
    problems: dict[str, list[str]] = {}
    if not isinstance(rule.actions, list) or not rule.actions:
        problems.setdefault("actions", []).append(_("List at least one action."))
    else:
        for i, entry in enumerate(rule.actions, start=1):
            action = actions.get(entry.get("action")) if isinstance(entry, dict) else None
            if action is None:
                problems.setdefault("actions", []).append(
                    _("Action %(i)s: choose one of %(names)s.")
                    % {"i": i, "names": ", ".join(n for n, _l in actions.choices())}
                )
                continue
            for name, param in action.params.items():
                if name not in entry:
                    if param.required:
                        problems.setdefault("actions", []).append(
                            _("Action %(i)s needs %(p)s.") % {"i": i, "p": name}
                        )
                    continue
                issue = _param_problem(param, entry[name])
                if issue:
                    problems.setdefault("actions", []).append(f"{i}. {name}: {issue}")
    if not isinstance(rule.categories, list) or any(
        c not in Category.values for c in rule.categories
    ):
        problems.setdefault("categories", []).append(
            _("Use categories from: %(c)s.") % {"c": ", ".join(Category.values)}
        )
    if not isinstance(rule.severities, list) or any(
        s not in Severity.values for s in rule.severities
    ):
        problems.setdefault("severities", []).append(
            _("Use severities from: %(s)s.") % {"s": ", ".join(Severity.values)}
        )
    if not isinstance(rule.field_conditions, list):
        problems.setdefault("field_conditions", []).append(_("Must be a list."))
    else:
        for i, c in enumerate(rule.field_conditions, start=1):
            if (
                not isinstance(c, dict)
                or not c.get("field")
                or c.get("op") not in FieldOperator.values
                or "value" not in c
            ):
                problems.setdefault("field_conditions", []).append(
                    _('Condition %(i)s: {"field": ..., "op": one of %(ops)s, "value": ...}.')
                    % {"i": i, "ops": ", ".join(FieldOperator.values)}
                )
    return problems


# --- conditions against the forms of the types a rule matches --------------------------------

_OP = FieldOperator
# The operators that mean something for a field of each type (a type registered later: all).
OPERATORS_BY_KIND: dict[str, tuple[str, ...]] = {
    "string": (_OP.EQUALS, _OP.NOT_EQUALS, _OP.CONTAINS, _OP.IN),
    "text": (_OP.CONTAINS, _OP.EQUALS, _OP.NOT_EQUALS),
    "choice": (_OP.EQUALS, _OP.NOT_EQUALS, _OP.IN),
    "multi-choice": (_OP.CONTAINS,),
    "number": (_OP.GREATER, _OP.LESS, _OP.EQUALS, _OP.NOT_EQUALS),
    "integer": (_OP.GREATER, _OP.LESS, _OP.EQUALS, _OP.NOT_EQUALS),
    "boolean": (_OP.EQUALS, _OP.NOT_EQUALS),
    "date": (_OP.EQUALS, _OP.NOT_EQUALS),
    "date-time": (_OP.EQUALS, _OP.NOT_EQUALS),
    **{
        kind: (_OP.EQUALS, _OP.NOT_EQUALS, _OP.IN)
        for kind in ("work-order", "lot", "machine", "item")
    },
}


def operators_for(kind: str) -> tuple[str, ...]:
    return OPERATORS_BY_KIND.get(kind, tuple(FieldOperator.values))


def field_options(spec: dict) -> list | None:
    """The values a field can hold, when it has a fixed list (a choice, several choices)."""
    if isinstance(spec.get("enum"), list):
        return spec["enum"]
    items = spec.get("items")
    if isinstance(items, dict) and isinstance(items.get("enum"), list):
        return items["enum"]
    return None


def _value_fits(kind: str, spec: dict, op: str, value) -> bool:
    options = field_options(spec)
    if op == FieldOperator.IN:
        return (
            isinstance(value, list)
            and bool(value)
            and all(_value_fits(kind, spec, FieldOperator.EQUALS, v) for v in value)
        )
    if options is not None:
        return any(same_value(value, option) for option in options)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind in ("number", "integer"):
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind in ("string", "text", "date", "date-time", "work-order", "lot", "machine", "item"):
        return isinstance(value, str)
    return True


def _expected(kind: str, spec: dict, op: str) -> str:
    options = field_options(spec)
    if options is not None:
        listed = ", ".join(json_value(o) for o in options)
        if op == FieldOperator.IN:
            return _("a list of: %(options)s") % {"options": listed}
        return _("one of: %(options)s") % {"options": listed}
    return {
        "boolean": _("true or false (yes or no)"),
        "number": _("a number"),
        "integer": _("a number"),
    }.get(kind, _("text"))


def json_value(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def condition_problems(conditions, types) -> list[str]:
    """What is wrong with ``conditions`` against the forms of ``types`` (the exception types
    the rule can match): a field none of them has, an operator that means nothing for the
    field's type, a value the field never holds ("photo taken equals "no"" on a yes/no)."""
    if not isinstance(conditions, list):
        return []
    forms = [
        (t, {n: (spec, kind) for n, spec, kind, _r in schema_fields(t.form_schema)}) for t in types
    ]
    problems = []
    for i, c in enumerate(conditions, start=1):
        if not isinstance(c, dict) or not isinstance(c.get("field"), str):
            continue  # rule_problems says how a condition is written
        name, op, value = c["field"], c.get("op"), c.get("value")
        holders = [(t, fields[name]) for t, fields in forms if name in fields]
        if not holders:
            problems.append(
                _("Condition %(i)s: no exception type this rule matches has a field %(f)s.")
                % {"i": i, "f": name}
            )
            continue
        for exception_type, (spec, kind) in holders:
            where = {
                "i": i,
                "f": spec.get("title") or name,
                "t": exception_type.name,
                "v": json_value(value),
            }
            if op not in operators_for(kind):
                labels = ", ".join(str(FieldOperator(o).label) for o in operators_for(kind))
                problems.append(
                    _("Condition %(i)s: %(f)s of %(t)s can be compared with: %(ops)s.")
                    % {**where, "ops": labels}
                )
            elif not _value_fits(kind, spec, op, value):
                problems.append(
                    _("Condition %(i)s: %(f)s of %(t)s holds %(expected)s, never %(v)s.")
                    % {**where, "expected": _expected(kind, spec, op)}
                )
    return problems
