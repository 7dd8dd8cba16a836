"""A real Tryton server for the Tryton adapter's tests: trytond 8.2 with ``production`` and
``stock_lot`` on SQLite, in its own venv (``make tryton``; ``TRYTON_VENV``), on a loopback port.

The database is built once per test session (``trytond-admin``, ~20 s) and copied for each
test (a file copy), each test gets its own server (~1 s to start)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
from decimal import Decimal
from pathlib import Path

import httpx

from integrations.erp.tryton_json import dumps, loads
from tests.processes import free_port

DBNAME = "tryton"
HERE = Path(__file__).resolve().parent


def venv() -> Path | None:
    path = Path(os.environ.get("TRYTON_VENV", HERE.parents[1] / ".venv-tryton"))
    return path if (path / "bin" / "trytond-admin").exists() else None


def _conf(workdir: Path) -> Path:
    (workdir / "db").mkdir(parents=True, exist_ok=True)
    conf = workdir / "trytond.conf"
    conf.write_text(
        f"[database]\nuri = sqlite://\npath = {workdir / 'db'}\n\n[session]\nmax_attempt = 100\n"
    )
    return conf


def _run(command: list[str], log: Path, env=None) -> str:
    done = subprocess.run(
        command, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
    )
    log.write_text(done.stderr + done.stdout)
    if done.returncode:
        raise RuntimeError(f"{command[0]} failed:\n{(done.stderr + done.stdout)[-3000:]}")
    return done.stdout


def install(workdir: Path, bin_dir: Path) -> Path:
    """A new database with the modules activated and the master data; returns the conf."""
    conf = _conf(workdir)
    (workdir / "db" / f"{DBNAME}.sqlite").touch()  # the SQLite backend wants the file
    passfile = workdir / "admin.pass"
    passfile.write_text("admin-pass\n")
    env = {**os.environ, "TRYTONPASSFILE": str(passfile)}
    admin = [str(bin_dir / "trytond-admin"), "-c", str(conf), "-d", DBNAME]
    _run(
        [
            *admin,
            "--email",
            "admin@example.com",
            "-u",
            "production",
            "stock_lot",
            "--activate-dependencies",
        ],
        workdir / "admin.log",
        env=env,
    )
    out = _run(
        [str(bin_dir / "python"), str(HERE / "tryton_setup.py"), str(conf), DBNAME],
        workdir / "setup.log",
    )
    (workdir / "setup.json").write_text(out.strip().splitlines()[-1])
    return conf


def clone(conf: Path, workdir: Path) -> Path:
    new = _conf(workdir)
    shutil.copyfile(conf.parent / "db" / f"{DBNAME}.sqlite", workdir / "db" / f"{DBNAME}.sqlite")
    shutil.copyfile(conf.parent / "setup.json", workdir / "setup.json")
    return new


class TrytonServer:
    """One running trytond; ``url`` is the database's URL, as an endpoint's ``base_url``."""

    def __init__(self, conf: Path, bin_dir: Path) -> None:
        self.port = free_port()
        self.setup = json.loads((conf.parent / "setup.json").read_text())
        web = conf.parent / f"web-{self.port}.conf"  # later conf files win
        web.write_text(f"[web]\nlisten = 127.0.0.1:{self.port}\n")
        self.log = conf.parent / "trytond.log"
        with open(self.log, "w") as out:
            self.process = subprocess.Popen(
                [str(bin_dir / "trytond"), "-c", str(conf), str(web), "-d", DBNAME],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.url = f"http://127.0.0.1:{self.port}/{DBNAME}/"
        self.key = self.setup["rest_key"]
        context = {
            "company": self.setup["company"],
            "companies": [self.setup["company"]],
            "warehouse": self.setup["warehouse"],
        }
        self.http = httpx.Client(
            base_url=self.url + "rest/model/",
            timeout=30,
            headers={
                "Authorization": f"Bearer {self.key}",
                "Content-Type": "application/json",
                "X-Tryton-Context": base64.urlsafe_b64encode(dumps(context).encode()).decode(),
            },
        )
        self._wait()

    def _wait(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"trytond exited: {self.log.read_text()[-2000:]}")
            try:
                answer = httpx.post(
                    f"http://127.0.0.1:{self.port}/rpc/",
                    json={"id": 0, "method": "common.server.version", "params": []},
                    timeout=5,
                )
                if answer.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise TimeoutError("trytond did not answer")

    def stop(self) -> None:
        self.http.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()

    # --- what a Tryton user does, over the same REST API ---------------------------------

    def _call(self, method: str, path: str, body=None, fields=()):
        answer = self.http.request(
            method,
            path,
            params=[("f", f) for f in fields],
            content=None if body is None else dumps(body),
        )
        assert answer.status_code < 400, answer.text
        return loads(answer.text) if answer.content else None

    def create_production(self, quantity, planned_date, *, state: str = "waiting") -> dict:
        s = self.setup
        values = {
            "company": s["company"],
            "warehouse": s["warehouse"],
            "location": s["production_location"],
            "type": "assembly",
            "product": s["product"],
            "unit": s["unit"],
            "quantity": float(quantity),
            "planned_date": planned_date,
            "planned_start_date": planned_date,
            "outputs": [
                [
                    "create",
                    [
                        {
                            "product": s["product"],
                            "unit": s["unit"],
                            "quantity": float(quantity),
                            "from_location": s["production_location"],
                            "to_location": s["storage_location"],
                            "company": s["company"],
                            "unit_price": Decimal(0),
                            "currency": s["currency"],
                        }
                    ],
                ]
            ],
        }
        created = self._call("POST", "production", values, fields=["id"])
        if state != "draft":
            self._call("POST", f"production/{created['id']}/wait", {})
        return self.production(created["id"])

    def change_production(self, pk: int, values: dict) -> None:
        """As a Tryton planner does: back to draft (a waiting order is read-only), change,
        wait again."""
        self.button(pk, "draft")
        self._call("PUT", f"production/{pk}", values)
        self.button(pk, "wait")

    def button(self, pk: int, action: str) -> None:
        self._call("POST", f"production/{pk}/{action}", {})

    def production(self, pk: int) -> dict:
        return self._call(
            "GET",
            f"production/{pk}",
            fields=["number", "state", "quantity", "planned_date", "outputs.quantity"],
        )
