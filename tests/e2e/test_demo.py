"""`make demo` without make: migrate an SQLite file, seed, serve ASGI with uvicorn, and check the
pages and API a first visitor opens answer 200 (embedded mode: no PostgreSQL, no Redis)."""

import os
import re
import subprocess
import sys
import time

import httpx
import pytest

from tests.processes import ROOT, free_port, server_argv, start_process, stop_process

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    db = tmp_path_factory.mktemp("demo") / "andon.sqlite3"
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG"}}
    env.update(DATABASE_URL=f"sqlite:///{db}", DJANGO_SETTINGS_MODULE="andon.settings", DEBUG="1")
    env["ANDON_DEMO_OPCUA_PORT"] = str(free_port())

    def manage(*args):
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )  # noqa: S603
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    manage("migrate", "--noinput")
    assert "Seeded" in manage("seed_demo")
    assert "already present" in manage("seed_demo")  # seeding runs once
    token = manage("issue_token", "supervisor_p1").split()[-1]
    port = free_port()
    server = start_process(server_argv(port), env, db.parent / "server.log")
    # as make demo: the simulated plant and the collector reading it
    machines = [
        start_process(
            [sys.executable, "manage.py", command], env, db.parent / f"{command}.log", command
        )
        for command in ("opcua_simulate", "opcua_collect")
    ]
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/login/", timeout=2)
            break
        except httpx.TransportError:
            time.sleep(0.2)
    yield base, token
    for running in (*machines, server):
        stop_process(running)


def login(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, follow_redirects=True, timeout=10)
    page = client.get("/login/")
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = client.post(
        "/login/",
        data={"username": username, "password": "andon-demo", "csrfmiddlewaretoken": csrf},
        headers={"Referer": f"{base}/login/"},
    )
    assert response.status_code == 200
    assert username in response.text
    return client


def test_login_page_and_api_docs_answer(demo_server):
    base, _ = demo_server
    assert httpx.get(f"{base}/login/").status_code == 200
    docs = httpx.get(f"{base}/api/docs/")
    assert docs.status_code == 200
    assert httpx.get(f"{base}/api/schema/").status_code == 200
    # Swagger UI's assets are served locally (no CDN on a plant network).
    asset = re.search(r'src="([^"]*swagger-ui-bundle\.js)"', docs.text).group(1)
    assert httpx.get(f"{base}{asset}").status_code == 200


def test_floor_page_for_supervisor(demo_server):
    base, _ = demo_server
    client = login(base, "supervisor_p1")
    floor = client.get("/floor/P1/")
    assert floor.status_code == 200
    assert "ZP/2026/11/" in floor.text
    assert client.get("/floor/P2/").status_code == 404


def test_admin_for_manager(demo_server):
    base, _ = demo_server
    client = login(base, "manager")
    assert client.get("/admin/").status_code == 200
    listing = client.get("/admin/mes/workorder/")
    assert listing.status_code == 200
    assert "FA26-" in listing.text and "ZP/2026/11/" in listing.text


def test_api_with_issued_token(demo_server):
    base, token = demo_server
    response = httpx.get(
        f"{base}/api/v1/work-orders/?limit=100", headers={"Authorization": f"Token {token}"}
    )
    assert response.status_code == 200
    rows = response.json()["results"]
    assert len(rows) == 20 and {row["site"] for row in rows} == {"P1"}
    statuses = {row["status"] for row in rows}
    assert statuses == {
        "planned",
        "released",
        "in_progress",
        "on_hold",
        "completed",
        "closed",
        "cancelled",
    }


def test_the_demo_machines_are_live(demo_server):
    base, _ = demo_server
    client = login(base, "manager")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        (server,) = client.get("/api/v1/opcua/health/").json()
        states = [t for t in server["tags"] if t["role"] == "state" and t["value"] is not None]
        if server["connected"] and len(states) == 7:
            break
        time.sleep(1)
    assert server["connected"], server
    assert len(states) == 7  # every P1 machine reports its state
    supervisor = login(base, "supervisor_p1")
    oee = supervisor.get("/machines/P1/oee/")
    assert oee.status_code == 200 and "P1-PRA" in oee.text
