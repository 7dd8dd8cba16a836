"""The live board in a real browser: ``supervisor_p1`` watches the P1 board while an exception
is raised through the REST API, and its card appears without a reload.

pytest-django's ``live_server`` speaks WSGI only, so this test runs the real ASGI application
under uvicorn (one process: its in-memory channel layer carries the push from the raising
request to the board's websocket) against the test database.
"""

import json
import os
import socket
import sys
import urllib.request

import pytest
from django.db import connections

from tests.e2e.conftest import _database_url, free_port, start_process, stop_process, wait_for
from tests.factories import make_token, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def asgi_server(require_postgres, transactional_db, tmp_path):
    """``uvicorn andon.asgi:application`` on a free port, on the test database, without Redis."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update({"DATABASE_URL": _database_url(), "DEBUG": "1"})
    log_path = tmp_path / "uvicorn.log"
    server = start_process(
        [sys.executable, "-m", "uvicorn", "andon.asgi:application", "--port", str(port)],
        env,
        log_path,
    )

    def up() -> bool:
        server.check_alive("uvicorn")
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return True
        except OSError:
            return False

    try:
        wait_for(up, timeout=30, message="uvicorn")
    except BaseException:
        stop_process(server)
        raise
    yield f"http://127.0.0.1:{port}"
    stop_process(server)
    connections.close_all()


def _api_raise(base_url: str, token: str) -> dict:
    body = {"type": "machine_breakdown", "site": "P1", "data": {"symptom": "alarm"}}
    request = urllib.request.Request(  # noqa: S310 (our own test server)
        f"{base_url}/api/v1/exceptions/",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310
        assert response.status == 201
        return json.loads(response.read())


def test_board_of_p1_shows_a_newly_raised_exception_without_a_reload(p1, asgi_server, browser):
    supervisor = make_user("supervisor_p1", "supervisor", [p1])
    token = make_token(supervisor)
    connections.close_all()  # committed; the server reads the same database

    context = browser.new_context()
    context.set_default_timeout(15_000)
    page = context.new_page()
    refused = []  # what the Content-Security-Policy blocked on Andon's own pages: nothing
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.goto(f"{asgi_server}/login/")
    page.fill("input[name=username]", "supervisor_p1")
    page.fill("input[name=password]", "pw")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{asgi_server}/")

    page.goto(f"{asgi_server}/exceptions/board/P1/")
    page.wait_for_selector("#board-status:text-is('Live')")  # no eval: the page's CSP forbids it
    assert page.locator(".board-card").count() == 0
    page.evaluate("window.__noReload = 'still here'")

    raised = _api_raise(asgi_server, token)

    card = page.wait_for_selector(f'.board-card[data-number="{raised["number"]}"]', timeout=5_000)
    assert raised["number"] in card.inner_text()
    assert page.evaluate("window.__noReload") == "still here"  # swapped in, not reloaded
    assert page.url == f"{asgi_server}/exceptions/board/P1/"
    assert refused == []
    context.close()
