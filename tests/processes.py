"""The one set of helpers that start real processes (Celery worker, uvicorn) for the e2e tests
and the benches: a free port, the command lines, start and stop (each process in a session of
its own, so a server's or worker's children stop with it), and waiting for a condition."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class ProcessFailed(RuntimeError):
    """A started process died, or a condition did not come true in time."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker_argv(queue: str, concurrency: int = 2) -> list[str]:
    """A Celery worker on its own queue, without the cluster chatter tests and benches do not
    need."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "andon",
        "worker",
        "-l",
        "info",
        "--concurrency",
        str(concurrency),
        "--pool",
        "prefork",
        "--without-heartbeat",
        "--without-mingle",
        "--without-gossip",
        "-Q",
        queue,
    ]


def server_argv(port: int, workers: int = 1) -> list[str]:
    """The ASGI server as the README runs it, on a loopback port."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "andon.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
        "--log-level",
        "warning",
    ]


@dataclass
class Running:
    """One started process and its log file."""

    name: str
    proc: subprocess.Popen
    log_path: Path

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def check_alive(self, name: str | None = None) -> None:
        if self.proc.poll() is not None:
            raise ProcessFailed(
                f"{name or self.name} exited ({self.proc.returncode}):\n{self.output()[-3000:]}"
            )

    def stop(self, timeout: float = 20) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)


def start_process(argv: list[str], env: dict, log_path: Path, name: str = "") -> Running:
    """Start ``argv`` in the project root, in a session of its own, its output in
    ``log_path``."""
    with open(log_path, "w") as log:
        proc = subprocess.Popen(  # noqa: S603
            argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    return Running(name or Path(argv[0]).name, proc, log_path)


def stop_process(running: Running) -> None:
    running.stop()


class Processes:
    """The processes of one run (a bench), all stopped on exit."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.started: list[Running] = []

    def start(self, name: str, argv: list[str], env: dict) -> Running:
        running = start_process(argv, env, self.log_dir / f"{name}.log", name)
        self.started.append(running)
        return running

    def log(self, name: str) -> str:
        return next((r.output() for r in self.started if r.name == name), "")

    def check_alive(self) -> None:
        for running in self.started:
            running.check_alive()

    def stop(self) -> None:
        for running in reversed(self.started):
            running.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def wait_until(predicate, timeout: float, what: str, alive=None, poll: float = 0.1) -> None:
    """Poll ``predicate`` until true; ``alive()`` (e.g. ``procs.check_alive``) is called each
    round so a dead process fails at once. Raises :class:`ProcessFailed` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if alive is not None:
            alive()
        if time.monotonic() > deadline:
            raise ProcessFailed(f"timed out waiting for {what}")
        time.sleep(poll)
