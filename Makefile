# The two commands: `make run` and `make test` (see README.md).
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
DEV_ENV := DEBUG=$${DEBUG:-1}

.PHONY: run test install system-deps lint format bench bench-balance check-ledger

# System packages first (`make run` and `make test` both start here): on Debian,
# `python3 -m venv` fails without python3-venv.
$(VENV)/.installed: pyproject.toml
	@./scripts/system-deps.sh --venv
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

system-deps:
	@./scripts/system-deps.sh

# PostgreSQL found or set up by scripts/postgres.sh; the web server and a job
# worker side by side (scripts/serve.sh): Ctrl-C stops both.
run: install system-deps
	@HOST=$(HOST) PORT=$(PORT) ./scripts/serve.sh

test: install
	@./scripts/system-deps.sh --browser
	@./scripts/test.sh

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

check-ledger: install
	$(DEV_ENV) $(PY) manage.py check_ledger

# The speed benchmarks (bench/): each in a database of its own, named after
# BENCH_DATABASE_URL (default cagette_bench) with a suffix; each prints its
# figures and ends with one line of ratios. BENCH_SECONDS shortens the runs.
BENCH_SECONDS ?=
bench: install
	$(PY) bench/posting.py $(if $(BENCH_SECONDS),--seconds $(BENCH_SECONDS))
	$(PY) bench/distribution_day.py
	$(PY) bench/pages.py $(if $(BENCH_SECONDS),--seconds $(BENCH_SECONDS))
	$(PY) bench/bank_import.py

bench-balance: install
	DATABASE_URL=$${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/cagette_bench} $(PY) bench/balance_page.py

# Update the English catalog from the French source strings, then compile it.
# Translate what makemessages adds to locale/en/LC_MESSAGES/django.po and run it
# again; the compiled .mo is committed, so running the app needs no gettext.
MESSAGES_IGNORE := --ignore=$(VENV) --ignore=bench --ignore=tests --ignore=staticfiles

.PHONY: messages
messages: install
	$(DEV_ENV) $(PY) manage.py makemessages -l en $(MESSAGES_IGNORE)
	$(DEV_ENV) $(PY) manage.py compilemessages -l en --ignore=$(VENV)
