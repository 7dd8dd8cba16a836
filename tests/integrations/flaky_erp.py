"""A generic ERP on loopback that fails at random, for the delivery tests.

It answers each POST in one of these ways, drawn at random: apply and 200; 500; 429 (with
``Retry-After: 0``); hang past the client's timeout; drop the connection without an answer;
or apply and *then* answer 500 (the reply lost, the work done). It applies by
``Idempotency-Key`` as a well-behaved ERP does: a key it has applied already is answered 200
and not applied again. It checks every ``X-Andon-Signature`` and counts, per key, what it
received and what it applied, and per work order the order in which events were applied.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import socket
import threading
import time
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a client that gave up (timeout) leaves a broken pipe: expected here


class FlakyErp:
    def __init__(self, secret: str, *, seed: int = 7, hang_seconds: float = 1.2, weights=None):
        self.secret = secret
        self.random = random.Random(seed)
        self.hang_seconds = hang_seconds
        self.weights = weights or {
            "ok": 63,
            "error": 10,
            "throttle": 10,
            "hang": 2,
            "drop": 5,
            "apply_then_error": 10,
        }
        self.lock = threading.Lock()
        self.received: Counter[str] = Counter()
        self.applied: Counter[str] = Counter()
        self.bodies: dict[str, dict] = {}  # key -> the body applied
        self.bad_signatures = 0
        self.sequence_by_work_order: dict = defaultdict(list)
        self.refused: set[str] = set()  # work orders whose events are refused with 422
        self.answer: bytes | None = None  # the body of every answer, if set
        self.server = _QuietServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/andon/events"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def _verify(self, header: str, body: bytes) -> bool:
        try:
            parts = dict(item.split("=", 1) for item in header.split(","))
            signed = f"{parts['t']}.".encode() + body
            expected = hmac.new(self.secret.encode(), signed, hashlib.sha256).hexdigest()
            return hmac.compare_digest(expected, parts["v1"])
        except (KeyError, ValueError):
            return False

    def _apply(self, key: str, body: dict) -> None:
        with self.lock:
            if self.applied[key]:
                return
            self.applied[key] += 1
            self.bodies[key] = body
            work_order = body.get("work_order")
            self.sequence_by_work_order[work_order].append(body.get("seq"))

    def _handler(self):
        erp = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                key = self.headers.get("Idempotency-Key", "")
                with erp.lock:
                    erp.received[key] += 1
                    if not erp._verify(self.headers.get("X-Andon-Signature", ""), raw):
                        erp.bad_signatures += 1
                    if erp.applied[key]:
                        outcome = "ok"  # an applied key is answered, never applied again
                    else:
                        names = list(erp.weights)
                        outcome = erp.random.choices(names, [erp.weights[n] for n in names])[0]
                body = json.loads(raw)
                if body.get("work_order") in erp.refused:
                    outcome = "refuse"
                if outcome == "hang":
                    time.sleep(erp.hang_seconds)
                    outcome = "error"
                if outcome == "drop":
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                if outcome in ("ok", "apply_then_error"):
                    erp._apply(key, body)
                status, extra = {
                    "ok": (200, {}),
                    "apply_then_error": (500, {}),
                    "error": (500, {}),
                    "throttle": (429, {"Retry-After": "0"}),
                    "refuse": (422, {}),
                }[outcome]
                answer = erp.answer or json.dumps({"status": outcome}).encode()
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **extra}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        return Handler
