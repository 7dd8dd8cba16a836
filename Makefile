# Andon: `make demo` serves a seeded demo plant; `make test` runs the whole suite.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2
STAMP := $(VENV)/.installed

.PHONY: venv demo test run worker beat bench lint format clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# Embedded mode: SQLite file, in-memory channel layer, tasks in-process. No server to install.
demo: venv
	env -u DATABASE_URL -u REDIS_URL $(PY) manage.py migrate --noinput
	env -u DATABASE_URL -u REDIS_URL $(PY) manage.py seed_demo
	env -u DATABASE_URL -u REDIS_URL ANDON_INPROCESS_SWEEPS=1 $(VENV)/bin/uvicorn mes.asgi:application --host $(HOST) --port $(PORT)

# Real PostgreSQL and Redis at their default local addresses unless DATABASE_URL/TEST_REDIS_URL say otherwise.
test: venv
	url="$$($(PY) tests/services.py)" && DATABASE_URL="$$url" $(PY) -m pytest $(PYTEST_ARGS)

# Production processes (needs DATABASE_URL, REDIS_URL, SECRET_KEY, DEBUG=0 in the environment).
run: venv
	@test -n "$$DATABASE_URL" -a -n "$$REDIS_URL" || { echo "make run needs DATABASE_URL and REDIS_URL"; exit 2; }
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput
	trap 'kill 0' EXIT INT TERM; \
	$(VENV)/bin/celery -A mes worker -l info & \
	$(VENV)/bin/celery -A mes beat -l info & \
	$(VENV)/bin/uvicorn mes.asgi:application --host $(HOST) --port $(PORT) --workers $(WORKERS)

worker: venv
	$(VENV)/bin/celery -A mes worker -l info

beat: venv
	$(VENV)/bin/celery -A mes beat -l info

bench: venv
	url="$$($(PY) tests/services.py --require)" && DATABASE_URL="$$url" $(PY) bench/run.py $(BENCH_ARGS) && DATABASE_URL="$$url" $(PY) bench/sweep.py && DATABASE_URL="$$url" $(PY) bench/push.py && DATABASE_URL="$$url" $(PY) bench/erp_ingest.py && DATABASE_URL="$$url" $(PY) bench/erp_delivery.py

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) andon.sqlite3 staticfiles .pytest_cache
