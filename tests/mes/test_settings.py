"""Settings from the environment: demo defaults, production services, a clean deploy check."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "from andon.celery import app; print(json.dumps({'db': s.DATABASES['default']['ENGINE'], "
    "'layer': s.CHANNEL_LAYERS['default']['BACKEND'], 'eager': app.conf.task_always_eager, "
    "'broker': app.conf.broker_url, 'debug': s.DEBUG}))"
)


def run(args, **env):
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY"}
    }
    return subprocess.run(  # noqa: S603
        [sys.executable, *args],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "andon.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def probe(**env):
    import json

    result = run(["-c", PROBE], **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_no_environment_means_debug_off_and_a_secret_key_required():
    result = run(["-c", PROBE])
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr


def test_debug_alone_means_embedded_demo():
    assert probe(DEBUG="1") == {
        "db": "django.db.backends.sqlite3",
        "layer": "channels.layers.InMemoryChannelLayer",
        "eager": True,
        "broker": "memory://localhost/",
        "debug": True,
    }


def test_database_and_redis_urls_switch_to_production_services():
    found = probe(
        DEBUG="1",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/andon",
        REDIS_URL="redis://127.0.0.1:6379/3",
    )
    assert found["db"] == "django.db.backends.postgresql"
    assert found["layer"] == "channels_redis.core.RedisChannelLayer"
    assert found["eager"] is False
    assert found["broker"] == "redis://127.0.0.1:6379/3"


def test_debug_off_requires_a_secret_key():
    result = run(["manage.py", "check"], DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_deploy_check_is_clean_with_debug_off():
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(60),
        ALLOWED_HOSTS="andon.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_openapi_schema_validates_without_warnings():
    result = run(
        ["manage.py", "spectacular", "--validate", "--fail-on-warn", "--file", os.devnull],
        DEBUG="1",
    )
    assert result.returncode == 0, result.stderr
