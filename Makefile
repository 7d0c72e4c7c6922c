# esimdesk: `make run` starts everything on the embedded default, `make test` checks it all.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: help run test lint format bench messages clean

help: ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	@touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@ $(STAMP)

run: $(STAMP) ## install, migrate, load demo data, serve on http://127.0.0.1:8000
	$(BIN)/esimdesk run --host $(HOST) --port $(PORT)

test: $(DEV_STAMP) lint ## lint, then the whole test suite (ESIMDESK_TEST_DATABASE_URL for PostgreSQL)
	$(BIN)/pytest -n auto -q

lint: $(DEV_STAMP) ## ruff, mypy (strict) on core/ and the services, the arrows between apps
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

format: $(DEV_STAMP) ## fix lint findings that ruff can fix
	$(BIN)/ruff check --fix src tests bench

bench: $(DEV_STAMP) ## benchmarks on PostgreSQL (figures go to docs/PERFORMANCE.md)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/renewal_sweep.py
	$(BIN)/python bench/usage_ingest.py
	$(BIN)/python bench/payment_ready.py

messages: $(DEV_STAMP) ## refresh and compile the translation catalogs
	cd src/esimdesk && ../../$(BIN)/django-admin makemessages -l zh_Hans --no-obsolete -i "*/migrations/*" --settings=esimdesk.settings
	cd src/esimdesk && ../../$(BIN)/django-admin compilemessages -l zh_Hans --settings=esimdesk.settings

clean: ## remove the virtualenv and local data
	rm -rf $(VENV) var
