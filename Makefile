# Andon: `make demo` serves a seeded demo plant; `make test` runs the whole suite.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 4
THREADS ?= 1
WS_PORT ?= 8001
STAMP := $(VENV)/.installed
# Two workers: the suite (unit, matrix, e2e) runs green in parallel on a 2-CPU machine.
PYTEST_ARGS ?= -n 2

.PHONY: venv tryton demo test run worker beat bench lint format clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# A real Tryton ERP (trytond 8.2 with production and stock_lot) for the Tryton adapter's tests,
# in a venv of its own: it is the ERP, not a part of Andon.
TRYTON_VENV ?= .venv-tryton
TRYTON_STAMP := $(TRYTON_VENV)/.installed
$(TRYTON_STAMP):
	test -x $(TRYTON_VENV)/bin/python || $(PYTHON) -m venv $(TRYTON_VENV)
	$(TRYTON_VENV)/bin/pip install -q 'trytond==8.2.*' 'trytond_production==8.2.*' 'trytond_stock_lot==8.2.*'
	touch $(TRYTON_STAMP)

tryton: $(TRYTON_STAMP)

# Embedded mode (DEBUG=1): SQLite file, in-memory channel layer, tasks in-process. No server to install.
# The demo plant's P1 machines run on a simulated OPC UA server (opcua_simulate) that the
# collector (opcua_collect) reads, so the floor sees downtimes raise themselves.
demo: venv
	env -u DATABASE_URL -u REDIS_URL DEBUG=1 $(PY) manage.py migrate --noinput
	env -u DATABASE_URL -u REDIS_URL DEBUG=1 $(PY) manage.py seed_demo
	trap 'kill 0' EXIT INT TERM; export DEBUG=1; unset DATABASE_URL REDIS_URL; \
	$(PY) manage.py opcua_simulate & \
	$(PY) manage.py opcua_collect & \
	ANDON_INPROCESS_SWEEPS=1 $(VENV)/bin/uvicorn andon.asgi:application --host $(HOST) --port $(PORT)

# Real PostgreSQL and Redis at their default local addresses unless DATABASE_URL/TEST_REDIS_URL say otherwise.
test: venv tryton
	url="$$($(PY) tests/services.py)" && DATABASE_URL="$$url" TRYTON_VENV="$(abspath $(TRYTON_VENV))" $(PY) -m pytest $(PYTEST_ARGS)

# Production processes (needs DATABASE_URL, REDIS_URL, SECRET_KEY, DEBUG=0 in the environment):
# HTTP from gunicorn (WORKERS sync workers, or THREADS per worker; persistent connections),
# websockets from uvicorn on WS_PORT (behind a reverse proxy that routes /ws/ there, set
# WEBSOCKET_URL= to keep one origin).
run: venv
	@test -n "$$DATABASE_URL" -a -n "$$REDIS_URL" || { echo "make run needs DATABASE_URL and REDIS_URL"; exit 2; }
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput
	trap 'kill 0' EXIT INT TERM; \
	$(VENV)/bin/celery -A andon worker -l info & \
	$(VENV)/bin/celery -A andon beat -l info & \
	$(PY) manage.py opcua_collect & \
	CONN_MAX_AGE=0 $(VENV)/bin/uvicorn andon.asgi:application --host $(HOST) --port $(WS_PORT) --workers 2 & \
	WEBSOCKET_URL="$${WEBSOCKET_URL-ws://$(HOST):$(WS_PORT)}" CONN_MAX_AGE="$${CONN_MAX_AGE:-60}" \
	  $(VENV)/bin/gunicorn andon.wsgi:application --bind $(HOST):$(PORT) --workers $(WORKERS) \
	  --threads $(THREADS) --max-requests 5000 --max-requests-jitter 500

worker: venv
	$(VENV)/bin/celery -A andon worker -l info

beat: venv
	$(VENV)/bin/celery -A andon beat -l info

bench: venv
	url="$$($(PY) tests/services.py --require)" && DATABASE_URL="$$url" $(PY) bench/run.py $(BENCH_ARGS) && DATABASE_URL="$$url" $(PY) bench/relay.py && DATABASE_URL="$$url" $(PY) bench/sweep.py && DATABASE_URL="$$url" $(PY) bench/push.py && DATABASE_URL="$$url" $(PY) bench/erp_ingest.py && DATABASE_URL="$$url" $(PY) bench/erp_delivery.py && DATABASE_URL="$$url" $(PY) bench/recall.py && DATABASE_URL="$$url" $(PY) bench/opcua.py && DATABASE_URL="$$url" $(PY) bench/audit.py

# Style, layers (import-linter contracts in pyproject.toml), migrations, generated docs.
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	env -u DATABASE_URL DEBUG=1 $(PY) manage.py makemigrations --check --dry-run
	env -u DATABASE_URL DEBUG=1 $(PY) manage.py andon_docs --check
	DEBUG=0 SECRET_KEY=lint-only-$$RANDOM-not-a-real-key-0123456789-abcdefghijklmnopqrstuvwxyz \
	  ALLOWED_HOSTS=andon.example.com $(PY) manage.py check --deploy --fail-level WARNING

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) $(TRYTON_VENV) andon.sqlite3 staticfiles .pytest_cache
