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

.PHONY: demo test install assets lint typecheck check bench clean docs-cli screenshots

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

## test: install what the tests need and run the whole suite
test: $(TEST_STAMP) $(ASSETS) $(BROWSER)
	CLEARLANE_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -q

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
