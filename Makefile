# Clearlane: the two commands a new user needs are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
WORKSPACE ?= clearlane-workspace
DEMO_ITEMS ?= 200000

ASSETS := src/clearlane/api/static/swagger-ui/swagger-ui-bundle.js src/clearlane/web/static/vendor/htmx.min.js src/clearlane/maps/data/countries.geo.json
BROWSER := /usr/bin/chromium

.PHONY: demo test test-postgres install assets lint typecheck check bench clean docs-cli screenshots

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Front-end files the server serves itself (never a CDN): pinned in package.json and
# package-lock.json, installed without running package scripts, copied into the package; the
# maps' country geometry is converted from the npm package world-atlas (needs pycountry).
$(ASSETS) &: package.json package-lock.json scripts/vendor_assets.py scripts/build_geometry.py $(STAMP)
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	$(PYTHON) scripts/vendor_assets.py
	$(BIN)/python scripts/build_geometry.py

assets: $(ASSETS)

## demo: install, create a workspace, generate and ingest synthetic data, show quality and next steps
demo: $(STAMP) $(ASSETS)
	$(BIN)/clearlane demo --workspace $(WORKSPACE) --items $(DEMO_ITEMS)

# The tests also cover the optional compiled trees (extra `fast`) and Dask clusters (`cluster`).
$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,fast,cluster]'
	touch $(TEST_STAMP)

# Debian's Chromium for the browser tests (Playwright drives it; no browser download)
$(BROWSER):
	sh scripts/install_browser.sh

# The suites that also run on the PostgreSQL store (tests/outcomes once it exists; the outcome
# tests live in tests/cases today).
POSTGRES_TESTS := tests/store tests/ingest $(wildcard tests/outcomes) tests/cases/test_outcomes_record.py tests/selection tests/api
PG_SERVER := sh scripts/postgres_server.sh
# $(call with_postgres,COMMANDS): a throwaway PostgreSQL server (Debian's package, installed
# when missing) in a fresh temporary folder, stopped and removed however COMMANDS end; its URL
# in CLEARLANE_TEST_POSTGRES_URL.
with_postgres = dir=$$(mktemp -d "$${TMPDIR:-/tmp}/clearlane-pg.XXXXXX") || exit 1; \
	trap '$(PG_SERVER) stop "$$dir"' EXIT; trap 'exit 130' INT TERM; \
	CLEARLANE_TEST_POSTGRES_URL=$$($(PG_SERVER) start "$$dir") || exit 1; \
	export CLEARLANE_TEST_POSTGRES_URL; \
	$(1)

## test: install what the tests need; run the whole suite, then the store-facing suites on PostgreSQL
test: $(TEST_STAMP) $(ASSETS) $(BROWSER)
	@$(call with_postgres,status=0; \
	CLEARLANE_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -q || status=1; \
	$(BIN)/python -m pytest -q --store=postgresql $(POSTGRES_TESTS) || status=1; \
	exit $$status)

## test-postgres: the store-facing suites on a throwaway PostgreSQL server
test-postgres: $(TEST_STAMP) $(ASSETS)
	@$(call with_postgres,$(BIN)/python -m pytest -q --store=postgresql $(POSTGRES_TESTS))

## screenshots: the web pages of the demo workspace into docs/img/ (run `make demo` first)
screenshots: $(TEST_STAMP) $(ASSETS) $(BROWSER)
	$(BIN)/python scripts/screenshots.py --workspace $(WORKSPACE)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

## bench: run every benchmark and rewrite docs/benchmarks.md sections
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,fast,bench,cluster]'
	for script in benchmarks/[a-z]*.py; do $(BIN)/python $$script || exit 1; done

docs-cli: $(STAMP)
	$(BIN)/python scripts/gen_cli_reference.py

clean:
	rm -rf $(VENV) node_modules src/clearlane/api/static/swagger-ui src/clearlane/web/static/vendor src/clearlane/maps/data $(WORKSPACE) $(WORKSPACE).audit-checkpoint.json .pytest_cache .mypy_cache .ruff_cache
