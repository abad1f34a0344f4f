# selfserve: `make demo` to try it, `make test` to check it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
UV_VERSION := 0.13.8
PYTEST_ARGS ?=
# Browser suites that run on PostgreSQL too: the customer journeys (the other browser tests are about the
# page and the loader, not about what the database keeps).
POSTGRES_BROWSER := tests/browser/test_journeys.py tests/browser/test_discount_journey.py \
	tests/browser/test_usage_journeys.py tests/browser/test_exports_journey.py tests/browser/test_stripe.py \
	tests/browser/test_hosted_journeys.py tests/browser/test_smoke.py tests/browser/test_retention_journey.py

.PHONY: install install-dev demo serve test test-sqlite test-postgres lint format lock clean screenshots bench

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv==$(UV_VERSION)

$(VENV)/.installed: $(UV) requirements.lock pyproject.toml
	$(UV) pip install --quiet --python $(BIN)/python -r requirements.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

$(VENV)/.installed-dev: $(UV) requirements-dev.lock pyproject.toml
	$(UV) pip install --quiet --python $(BIN)/python -r requirements-dev.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

demo: install
	$(BIN)/selfserve demo

serve: install
	$(BIN)/selfserve serve

test: install-dev
	$(BIN)/python -m pytest tests $(PYTEST_ARGS)
	$(BIN)/python -m pytest tests/integration $(POSTGRES_BROWSER) --db=postgres $(PYTEST_ARGS)

test-sqlite: install-dev
	$(BIN)/python -m pytest tests $(PYTEST_ARGS)

test-postgres: install-dev
	$(BIN)/python -m pytest tests/integration $(POSTGRES_BROWSER) --db=postgres $(PYTEST_ARGS)

screenshots: install-dev
	$(BIN)/python -m pytest tests/browser/screenshots.py -q $(PYTEST_ARGS)

# The server on SQLite and PostgreSQL under wrk (Debian's, installed when missing); BENCH_ARGS=--help says more.
bench: install-dev
	@command -v wrk >/dev/null 2>&1 || { echo "bench: installing wrk from Debian"; apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	$(BIN)/python -m tests.bench.run $(BENCH_ARGS)

lint: install-dev
	$(BIN)/ruff check server widgets tests scripts
	$(BIN)/ruff format --check server widgets tests scripts
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo
	$(BIN)/python scripts/imports.py
	$(BIN)/python scripts/messages.py --check

format: install-dev
	$(BIN)/ruff check --fix server widgets tests scripts
	$(BIN)/ruff format server widgets tests scripts

lock: $(UV)
	$(UV) pip compile --quiet pyproject.toml --generate-hashes -o requirements.lock
	$(UV) pip compile --quiet pyproject.toml --extra dev --generate-hashes -o requirements-dev.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist
