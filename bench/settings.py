"""Settings of the benchmark servers: production settings, plus the ceiling view's URL.

Run with ``DEBUG=0`` (run.py sets it and a throw-away ``SECRET_KEY``); the server is plain
HTTP on 127.0.0.1 only, so the HTTPS redirect and HSTS of production are switched off.
"""

import os

from andon.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
ALLOWED_HOSTS = ["127.0.0.1"]
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
# The bench's own Celery queue, so a run never takes (or leaves) tasks of another process.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("BENCH_QUEUE", "andon-bench")
# Nothing in the request path may log per request; errors still show.
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
if os.environ.get("BENCH_TRACE_DIR"):  # bench/push.py --trace: what the layer sends, pops
    CHANNEL_LAYERS["default"]["BACKEND"] = "bench.trace_layer.TracingLayer"  # noqa: F405
