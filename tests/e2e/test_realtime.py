"""Real time with the real pieces: PostgreSQL, Redis (broker and channel layer), a uvicorn ASGI
server process and a Celery worker process.

``supervisor_p1`` raises a shortage over REST; ``planner_p1``'s websocket receives the ``raised``
notification within one second of the POST returning, ``planner_p2`` (another plant) receives
nothing; a client that was disconnected gets what it missed from
``GET /api/v1/notifications/?after=<last id seen>``.
"""

import asyncio
import json
import os
import time
import uuid
from dataclasses import dataclass

import pytest

from tests.e2e.conftest import (
    _database_url,
    celery_worker_argv,
    free_port,
    start_process,
    stop_process,
    wait_for,
)
from tests.factories import make_token, make_user, make_work_order
from tests.processes import server_argv

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ws_client = pytest.importorskip("websockets.asyncio.client", reason="pip install websockets")
ws_errors = pytest.importorskip("websockets.exceptions")
httpx = pytest.importorskip("httpx")


@dataclass
class Stack:
    http: str
    ws: str


@pytest.fixture
def stack(require_postgres, redis_url, transactional_db, tmp_path):
    """uvicorn + a Celery worker sharing a queue and a channel-layer prefix unique to this test,
    so runs sharing one Redis never take each other's tasks or messages."""
    run_id = uuid.uuid4().hex[:12]
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": redis_url,
        "CELERY_QUEUE": f"andon-rt-{run_id}",
        "CHANNEL_PREFIX": f"andon-rt-{run_id}",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "OUTBOX_SWEEP_AFTER_SECONDS": "0",
    }
    port = free_port()
    worker = start_process(celery_worker_argv(env["CELERY_QUEUE"]), env, tmp_path / "worker.log")
    server = start_process([*server_argv(port), "--lifespan", "off"], env, tmp_path / "server.log")
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        worker.check_alive("worker")
        server.check_alive("server")
        try:
            server_ok = httpx.get(f"{base}/login/", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False
        return server_ok and "ready." in worker.output()

    try:
        wait_for(up, timeout=60, message="uvicorn and the Celery worker")
        yield Stack(http=base, ws=f"ws://127.0.0.1:{port}")
    finally:
        stop_process(server)
        stop_process(worker)


async def _next_of(ws, predicate, timeout: float) -> dict:
    """The next message satisfying ``predicate``; fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        message = json.loads(await asyncio.wait_for(ws.recv(), left))
        if predicate(message):
            return message


def test_planner_hears_a_shortage_within_a_second_and_resyncs_after_a_disconnect(stack, p1, p2):
    wo1 = make_work_order(p1, status="in_progress")
    wo2 = make_work_order(p1, status="in_progress")
    tokens = {
        name: make_token(make_user(name, role, [site]))
        for name, role, site in [
            ("supervisor_p1", "supervisor", p1),
            ("procurement_p1", "procurement", p1),
            ("planner_p1", "planner", p1),
            ("planner_p2", "planner", p2),
        ]
    }

    def auth(name):
        return {"Authorization": f"Token {tokens[name]}"}

    async def raise_shortage(http, wo) -> dict:
        answer = await http.post(
            "/api/v1/exceptions/",
            json={
                "type": "material_shortage",
                "site": "P1",
                "work_order": wo.erp_number,
                "data": {"material": "RM-1"},
            },
            headers=auth("supervisor_p1"),
        )
        assert answer.status_code == 201, answer.text
        return answer.json()

    def raised(ticket):
        link = f"/exceptions/{ticket['id']}/"
        return lambda m: (
            m.get("type") == "notification"
            and (m["kind"], m["link"])
            == (
                "raised",
                link,
            )
        )

    async def scenario():
        async with httpx.AsyncClient(base_url=stack.http, timeout=10) as http:
            # a script: a single-use ticket over REST, then the socket with it
            issued = await http.post("/api/v1/ws-tickets/", headers=auth("planner_p1"))
            assert issued.status_code == 201, issued.text
            p1_ws = await ws_client.connect(
                f"{stack.ws}/ws/notifications/?ticket={issued.json()['ticket']}"
            )
            p2_ws = await ws_client.connect(
                f"{stack.ws}/ws/notifications/", additional_headers=auth("planner_p2")
            )
            assert json.loads(await p1_ws.recv()) == {"type": "hello", "unread": 0, "last_id": 0}
            for refused in ("", "?ticket=nope", f"?token={tokens['planner_p1']}"):
                with pytest.raises(ws_errors.InvalidStatus):
                    await ws_client.connect(f"{stack.ws}/ws/notifications/{refused}")
            assert json.loads(await p2_ws.recv())["type"] == "hello"

            # when supervisor_p1 raises a shortage over REST
            first = await raise_shortage(http, wo1)
            returned = time.monotonic()
            # then planner_p1 is told within one second of the POST returning
            note = await _next_of(p1_ws, raised(first), timeout=5)
            latency = time.monotonic() - returned
            assert latency < 1.0, f"raised notification took {latency:.3f} s"
            assert note["title"].startswith(f"Raised: {first['number']} ")
            assert note["site"] == "P1"
            seen = [note["id"]]
            # and planner_p2, of another plant, hears nothing (not even the hold on P1)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(p2_ws.recv(), 3)
            while True:  # drain what else planner_p1 got (the hold) before going offline
                try:
                    seen.append(json.loads(await asyncio.wait_for(p1_ws.recv(), 0.5))["id"])
                except TimeoutError:
                    break
            await p1_ws.close()

            # when planner_p1 is offline, a second shortage is raised
            second = await raise_shortage(http, wo2)

            # then resyncing with ?after= returns it
            missed = []

            async def resync():
                answer = await http.get(
                    f"/api/v1/notifications/?after={max(seen)}", headers=auth("planner_p1")
                )
                assert answer.status_code == 200
                missed[:] = answer.json()["results"]
                return any(raised(second)({"type": "notification", **n}) for n in missed)

            deadline = time.monotonic() + 15
            while not await resync():
                assert time.monotonic() < deadline, "the missed notification never arrived"
                await asyncio.sleep(0.2)
            assert all(n["id"] > max(seen) for n in missed)
            assert [n["id"] for n in missed] == sorted(n["id"] for n in missed)

            # and on reconnect the hello counts it among the unread
            again = await ws_client.connect(
                f"{stack.ws}/ws/notifications/", additional_headers=auth("planner_p1")
            )
            hello = json.loads(await again.recv())
            assert hello["type"] == "hello"
            assert hello["last_id"] >= max(n["id"] for n in missed)
            assert hello["unread"] >= len(seen) + 1
            await again.close()
            await p2_ws.close()
        return latency

    latency = asyncio.run(scenario())
    print(f"push latency REST -> websocket: {latency * 1000:.0f} ms")  # noqa: T201
