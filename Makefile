# Chunfeng — `make help` lists the targets. Everything downloaded or built (virtualenv, Kafka
# jars, FerretDB binary) is cached in $CHUNFENG_CACHE (default ~/.cache/chunfeng), outside
# the clone, so a fresh clone reuses it; the stack's data lives in ./var (`make clean-state`).
#
#   make venv         virtualenv $CHUNFENG_CACHE/venv-<hash of pyproject.toml>, linked as .venv
#   make run          the whole pipeline in one process (embedded bus and store); with both
#                     KAFKA_BOOTSTRAP_SERVERS and MONGODB_URL set, the same as `make stack`
#   make stack        Kafka + FerretDB + ingest/match/notify + fake SMS gateway, one process each
#   make infra-up     start (or reuse) Kafka on 127.0.0.1:9092 and FerretDB on 127.0.0.1:27017
#                     (on PostgreSQL 127.0.0.1:5433; CHUNFENG_STORE_BACKEND=sqlite for the old way)
#   make infra-down   stop them
#   make infra-fetch  download Kafka 4.1.1, build FerretDB v1.24.2 (once), apt-install PostgreSQL
#   make compose-up   the whole stack in containers (Docker Compose; installs and starts a Docker
#                     engine if none runs, builds the images locally): ports on 127.0.0.1 only
#   make compose-down stop it (and the engine, if compose-up started it); data volumes stay
#   make compose-build  build the images only (timed)
#   make compose-config the merged compose configuration
#   make test         unit tests, the dashboard in headless chromium, then integration tests (these
#                     start the stack themselves: in containers, or as local processes when no
#                     Docker engine can be started)
#   make browser-tools  apt-install chromium and a CJK font (scripts/chromium.sh; debs cached)
#   make lint         ruff and mypy
#   make schemas      regenerate docs/events/*.schema.json from the event classes
#   make eval         matching quality on a seeded simulated campaign (evaluation/, ~1 min);
#                     rewrites eval-results.json and docs/quality.md
#   make bench        benchmarks (bench/): the match index at 10k/100k/1M and match's memory at
#                     1M seekers, then the pipeline, a 20,000-row import and two match instances
#                     on one Kafka + FerretDB it starts for them (under the machine-wide stack
#                     lock); < 20 minutes; rewrites bench-*.json, docs/quality.md and the
#                     README's targets table;
#                     BENCH_ARGS passes options, e.g. BENCH_ARGS='--sizes 10000 --queries 50'
#   make chaos        faults on the real local-process stack (chaos/, ~7 min, not part of `make test`):
#                     kill -9 of each service, of Kafka, of FerretDB, a start while the database is
#                     down, two notify workers under the daily cap; prints the table, writes
#                     chaos-results.json; CHAOS_ARGS passes options (`python -m chaos --help`)
#   make clean-state  stop the infra and delete ./var

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

export CHUNFENG_CACHE ?= $(HOME)/.cache/chunfeng
export PYTHONPATH := $(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH))
PY := .venv/bin/python
DEVSTACK := $(PY) scripts/devstack.py

COMPOSE := $(PY) scripts/composestack.py

.PHONY: help venv infra-fetch run stack infra-up infra-down test lint schemas eval bench chaos clean-state \
	compose-tools compose-up compose-down compose-build compose-config browser-tools

help:
	@sed -n '1,/^$$/p' $(firstword $(MAKEFILE_LIST)) | sed 's/^# \{0,1\}//'

venv:
	@bash scripts/venv.sh

infra-fetch:
	@bash scripts/kafka.sh fetch
	@bash scripts/ferretdb.sh build
	@bash scripts/postgres.sh install

run: venv
	@if [[ -n "$${KAFKA_BOOTSTRAP_SERVERS:-}" && -n "$${MONGODB_URL:-}" ]]; then \
		exec $(DEVSTACK) stack; \
	else \
		exec $(PY) -m services.embedded; \
	fi

stack: venv infra-fetch
	$(DEVSTACK) stack

infra-up: venv infra-fetch
	$(DEVSTACK) infra-up

infra-down: venv
	$(DEVSTACK) infra-down

# The compose tools (not the engine) before the unit tests, which check the compose files with
# `docker compose config`; without root or Debian's packages the integration tests fall back.
compose-tools:
	@bash scripts/docker-engine.sh install || echo "WARNING: could not install the Docker tools" >&2

compose-up: venv infra-fetch
	$(COMPOSE) up

compose-down: venv
	$(COMPOSE) down

compose-build: venv infra-fetch
	$(COMPOSE) build

compose-config: venv compose-tools
	$(COMPOSE) config

# The browser test fails under CI=true without a browser; elsewhere it says why it skipped.
browser-tools:
	@bash scripts/chromium.sh install || echo "WARNING: could not install chromium (browser tests)" >&2

test: venv infra-fetch compose-tools browser-tools
	$(PY) -m pytest tests/unit -q
	$(PY) -m pytest tests/browser -q
	$(PY) -m pytest tests/integration -q

lint: venv
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m mypy scripts/devstack.py scripts/composestack.py tests/integration/conftest.py

schemas: venv
	$(PY) -m shared.schemas

eval: venv
	$(PY) -m evaluation

bench: venv infra-fetch
	$(PY) -m bench $(BENCH_ARGS)

chaos: venv infra-fetch
	$(PY) -m chaos $(CHAOS_ARGS)

clean-state:
	bash scripts/kafka.sh stop
	bash scripts/ferretdb.sh stop
	bash scripts/postgres.sh stop
	rm -rf var
