"""Print the DATABASE_URL the test suite should use, after checking the services are up.

PostgreSQL (and Redis) are expected at their default local addresses. With REQUIRE_SERVICES=1
(CI) or --require, a missing service is an error. Otherwise a missing PostgreSQL falls back to
SQLite with a warning on stderr, and tests that need PostgreSQL or Redis skip with a reason.
"""

import os
import socket
import sys
from urllib.parse import urlparse

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/andon"
DEFAULT_REDIS = "redis://127.0.0.1:6379/15"


def reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), 2
        ):
            return True
    except OSError:
        return False


def main() -> int:
    required = os.environ.get("REQUIRE_SERVICES") == "1" or "--require" in sys.argv
    db = os.environ.get("DATABASE_URL") or DEFAULT_DB
    redis_url = os.environ.get("TEST_REDIS_URL") or DEFAULT_REDIS
    missing = []
    if db.startswith("postgres") and not reachable(db, 5432):
        missing.append(f"PostgreSQL at {db}")
    if not reachable(redis_url, 6379):
        missing.append(f"Redis at {redis_url}")
    if missing and required:
        print("required services are down: " + "; ".join(missing), file=sys.stderr)
        return 1
    for m in missing:
        print(f"warning: {m} is down; tests needing it will skip", file=sys.stderr)
    if db.startswith("postgres") and any(m.startswith("PostgreSQL") for m in missing):
        db = "sqlite:///test-andon.sqlite3"
    print(db)
    return 0


if __name__ == "__main__":
    sys.exit(main())
