"""One registry class for every extension point.

Outbox subscribers, notification kinds and producers, rule conditions and actions, ERP
adapters, form field types and the event catalogue are all :class:`Registry` objects with the
same API::

    things = Registry("things", "What a thing is for.")

    things.register("name", value)          # or, as a decorator:
    @things.register("name")
    def value(...): ...

    things.get("name")        # the value, or None        things["name"]  # or LookupError
    "name" in things          # registered?               things.names()  # sorted keys
    things.items()            # (key, value) in registration order
    things.choices()          # (key, label) for form fields

A registry that builds its entries from extra arguments (``subscribers.register("erp",
patterns=[...])``) overrides :meth:`Registry.build`. A registry created with
``multiple=True`` keeps a list per key (several producers for one event type). Every registry
is listed by :func:`all_registries`, which ``docs/registries.md`` is generated from.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Generic, TypeVar

from django.utils.functional import Promise

T = TypeVar("T")
_MISSING = object()
_ALL: dict[str, Registry] = {}


class Registry(Generic[T]):
    """Named entries of one extension point; a key registers once (again: replaced)."""

    def __init__(self, name: str, description: str = "", *, multiple: bool = False) -> None:
        self.name = name
        self.description = description
        self.multiple = multiple
        self._entries: dict[str, Any] = {}
        _ALL[name] = self

    # --- registering ---

    def register(self, key: str, value: Any = _MISSING, /, **options) -> Any:
        """Register ``value`` under ``key``; without a value, a decorator that registers what
        it decorates. ``options`` go to :meth:`build`."""
        if value is _MISSING:

            def decorator(func):
                self._add(key, self.build(key, func, **options))
                return func

            return decorator
        entry = self.build(key, value, **options)
        self._add(key, entry)
        return entry

    def build(self, key: str, value: Any, **options) -> T:
        """The entry stored for ``value`` (the value itself unless a subclass says otherwise)."""
        if options:
            raise TypeError(f"registry {self.name} takes no options: {sorted(options)}")
        return value

    def _add(self, key: str, entry: T) -> None:
        if self.multiple:
            found = self._entries.setdefault(key, [])
            if entry not in found:
                found.append(entry)
        else:
            self._entries[key] = entry
        self.changed()

    def unregister(self, key: str) -> None:
        self._entries.pop(key, None)
        self.changed()

    def changed(self) -> None:
        """Called after every change (subclasses drop their caches here)."""

    # --- looking up ---

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self._entries.get(key, default)
        except TypeError:  # a list or an object where a name was expected: not registered
            return default

    def __getitem__(self, key: str) -> Any:
        try:
            return self._entries[key]
        except KeyError:
            raise LookupError(
                f"{key!r} is not registered in {self.name} (known: {', '.join(self.names())})"
            ) from None

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    # --- listing ---

    def names(self) -> list[str]:
        return sorted(self._entries)

    def items(self) -> list[tuple[str, Any]]:
        return list(self._entries.items())

    def values(self) -> list[Any]:
        return list(self._entries.values())

    def label(self, key: str) -> str:
        """An entry's ``label``; an entry that is itself text (lazy or not) is its label."""
        entry = self._entries.get(key)
        label = getattr(entry, "label", None)
        if label is None and isinstance(entry, str | Promise):
            label = entry
        return str(label) if label is not None else key

    def choices(self) -> list[tuple[str, str]]:
        return [(key, self.label(key)) for key in self._entries]

    def describe(self, key: str) -> str:
        """One line for the docs page (several entries of a ``multiple`` key: joined)."""
        entry = self._entries.get(key)
        entries = entry if isinstance(entry, list) else [entry]
        return "; ".join(self.describe_entry(item) for item in entries)

    def describe_entry(self, item: Any) -> str:
        if isinstance(item, str | Promise):
            return str(item)
        label = getattr(item, "label", None)
        if label is not None:
            return str(label)
        if callable(item):
            return callable_summary(item)
        return str(item)


def callable_summary(func) -> str:
    """```module.name``: first sentence of its docstring`` (for the docs page)."""
    name = f"`{func.__module__}.{getattr(func, '__qualname__', func)}`"
    doc = " ".join((func.__doc__ or "").strip().split("\n\n")[0].split())
    sentence = doc.split(". ")[0].rstrip(".")
    return f"{name}: {sentence}" if sentence else name


def all_registries() -> list[Registry]:
    """Every registry created so far, by name."""
    return [_ALL[name] for name in sorted(_ALL)]
