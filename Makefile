# The two commands: `make run` (set up and run everything) and `make test` (the whole suite).
# Only python3 (3.11+) is needed; everything else is installed into .venv on first use.

SHELL  := /bin/bash
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8000

.PHONY: run test test-smoke test-e2e lint install migrate demo bench clean help

help:
	@echo "make run         set up (venv, deps, migrate, demo data) and run web + worker + beat on :$(PORT)"
	@echo "make test        lint and run the whole test suite (uses DATABASE_URL / REDIS_URL when set)"
	@echo "make test-smoke  the smoke subset (what CI also runs on the embedded SQLite default)"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py seed_demo

run: migrate
	@$(BIN)/python manage.py seed_demo
	@echo ""
	@echo "  ITSM is starting on http://127.0.0.1:$(PORT)/  (web, Celery worker, Celery beat; Ctrl-C stops all)"
	@echo "  Log in with one of the demo logins above."
	@echo ""
	DJANGO_DEBUG=$${DJANGO_DEBUG:-true} ITSM_PORT=$(PORT) PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile

lint: install
	$(BIN)/ruff check .

# Tests get their own scratch folder (broker, cache, files), never the one `make run` uses.
test: lint
	ITSM_VAR_DIR=$$(mktemp -d) $(BIN)/python -m pytest $(PYTEST_ARGS)

test-smoke: install
	ITSM_VAR_DIR=$$(mktemp -d) $(BIN)/python -m pytest -m smoke $(PYTEST_ARGS)

# Benchmarks need PostgreSQL (BENCH_DATABASE_URL); see bench/README.md.
bench: install
	@for b in bench/bench_*.py; do [ -e "$$b" ] || continue; m=$${b%.py}; $(BIN)/python -m $${m//\//.} || exit 1; done

clean:
	rm -rf var staticfiles
