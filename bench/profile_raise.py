"""Where one API raise spends its time, in process (no HTTP server, no client threads).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/andon python bench/profile_raise.py
    python bench/profile_raise.py --requests 2000 --profile   # plus a cProfile top list

Recreates ``andon_bench``, seeds it as ``make bench`` does, then posts ``--requests`` raises
and ``--requests`` ceiling requests through Django's WSGI handler (the full middleware stack),
interleaved, and prints the mean milliseconds of each and their ratio. With ``--profile`` it
also prints the functions with the most cumulative time of the raises.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import secrets
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import BODY_DATA, SITE, bench_environment, fresh_database, seed  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args(argv)
    server_url = os.environ.get("DATABASE_URL", "")
    queue = f"andon-prof-{secrets.token_hex(4)}"
    env = bench_environment(server_url, args.redis_url, queue, CONN_MAX_AGE="60")
    fresh_database(server_url, env)
    seeded = seed(50)
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Token {seeded['token']}", SERVER_NAME="127.0.0.1")
    orders = seeded["work_orders"]

    def raise_one(i: int) -> None:
        body = {"type": "material_shortage", "site": SITE, "work_order": orders[i % len(orders)]}
        response = client.post(
            "/api/v1/exceptions/", {**body, "data": BODY_DATA}, content_type="application/json"
        )
        assert response.status_code == 201, response.content  # noqa: S101

    def ceiling_one(i: int) -> None:
        body = {"work_order": orders[i % len(orders)], "data": BODY_DATA}
        response = client.post("/bench/ceiling/", json.dumps(body), content_type="application/json")
        assert response.status_code == 201, response.content  # noqa: S101

    for i in range(50):  # warm-up: imports, caches, connection
        raise_one(i)
        ceiling_one(i)
    spent = {"api": 0.0, "ceiling": 0.0}
    for i in range(args.requests):
        for name, call in (("ceiling", ceiling_one), ("api", raise_one)):
            started = time.perf_counter()
            call(i)
            spent[name] += time.perf_counter() - started
    api, ceiling = (spent[k] * 1000 / args.requests for k in ("api", "ceiling"))
    print(f"ceiling {ceiling:.2f} ms, raise {api:.2f} ms per request, ratio {ceiling / api:.3f}")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for i in range(args.requests):
            raise_one(i)
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(args.top)
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
