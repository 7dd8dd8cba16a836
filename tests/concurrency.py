"""Run a function in several threads at once (behind a barrier, each with its own database
connection, closed after), to race two requests, relays or sweeps against each other."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection


def together(func: Callable[..., Any], args: Sequence[tuple] = ((), ())) -> list[Any]:
    """Call ``func(*a)`` for each ``a`` of ``args`` in its own thread, all released at once.
    Returns each call's result in the order of ``args``; an exception of a thread is raised
    here (the first one)."""
    barrier = threading.Barrier(len(args))
    results: list[Any] = [None] * len(args)
    errors: list[BaseException] = []

    def run(index: int, call_args: tuple) -> None:
        try:
            barrier.wait()
            results[index] = func(*call_args)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(args)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results
