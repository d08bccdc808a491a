# Two commands set up everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format bench soak check-data postgres browser wrk clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

## Migrate and seed a SQLite database under ./var, then serve on http://$(HOST):$(PORT)
run: $(STAMP)
	$(BIN)/nigran db upgrade
	$(BIN)/nigran seed
	$(BIN)/nigran serve --host $(HOST) --port $(PORT)

## The whole suite, on SQLite and on PostgreSQL (started here if it is down)
test: $(STAMP) postgres
	$(BIN)/ruff check app migrations tests benchmarks
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check app migrations tests benchmarks
	$(BIN)/ruff format --check app migrations tests benchmarks

format: $(STAMP)
	$(BIN)/ruff format app migrations tests benchmarks
	$(BIN)/ruff check --fix app migrations tests benchmarks

check-data: $(STAMP)
	$(BIN)/nigran data check

## Every performance target over HTTP (imports included), judged and written to benchmarks/RESULTS.md.
## One line again, shorter: $(BIN)/python -m benchmarks.http --only item --seconds 2 (--list names them)
bench: $(STAMP) postgres wrk
	$(BIN)/python -m benchmarks.http

## Fault soak: SIGKILL mid-import and mid-approvals (both engines), then 60 s of mixed load on
## two workers (PostgreSQL); checks what survived and writes the figures to docs/RELIABILITY.md.
## Shorter: $(BIN)/python -m soak.crash --rows 20000 --stream-seconds 3; $(BIN)/python -m soak.load --seconds 10
soak: $(STAMP) postgres
	$(BIN)/python -m soak.crash
	$(BIN)/python -m soak.load
	@echo "soak: every check held; figures in docs/RELIABILITY.md"

## Start the local PostgreSQL cluster if this machine has one and it is down
postgres:
	@if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then \
		pg_isready -q -h 127.0.0.1 -p 5432 || \
		pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -1) main start || true; \
	else echo "no local PostgreSQL cluster: the PostgreSQL half of the suite will be skipped"; fi

## Install Debian's Chromium for the browser tests (tests/web/test_browser.py) if it is missing.
## Never fails: without it the browser tests are reported as skipped, in red, at the end of the run.
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get -qq
browser:
	@if [ -x $(CHROMIUM) ]; then echo "$(CHROMIUM) is installed: $$($(CHROMIUM) --version 2>/dev/null)"; \
	elif command -v apt-get >/dev/null 2>&1; then \
		echo "installing chromium with apt-get (quietly; a few minutes at most)"; \
		{ timeout 300 $(APT) update && \
		  timeout 600 $(APT) install -y --no-install-recommends chromium fonts-liberation; \
		} >/tmp/nigran-chromium-install.log 2>&1; \
		if [ -x $(CHROMIUM) ]; then echo "installed: $$($(CHROMIUM) --version 2>/dev/null)"; \
		else tail -5 /tmp/nigran-chromium-install.log; \
		     echo "chromium could not be installed: the browser tests will be skipped"; fi; \
	else echo "no apt-get: install Chromium at $(CHROMIUM) yourself, or the browser tests will be skipped"; fi

## Install Debian's wrk, the load generator `make bench` drives, if it is missing.
wrk:
	@command -v wrk >/dev/null 2>&1 || { \
		echo "installing wrk with apt-get"; \
		timeout 300 $(APT) update && timeout 300 $(APT) install -y --no-install-recommends wrk; }

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache *.egg-info
