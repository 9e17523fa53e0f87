# Two commands for a new machine: `make demo` and `make test`. Both build .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WORKSPACE ?= demo-workspace

.PHONY: demo serve test lint format benchmark clean sysdeps screenshots

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# WeasyPrint (PDF reports) needs pango; install it with apt when we are root and it is missing.
sysdeps:
	@if ! ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core; \
	  else \
	    echo "PDF reports need pango: sudo apt-get install libpango-1.0-0 libpangoft2-1.0-0" >&2; \
	  fi; \
	fi

demo: $(STAMP) sysdeps
	$(BIN)/tumorboard demo --workspace $(WORKSPACE)

# The browser tumour board over the demo workspace, on http://127.0.0.1:8000/
serve: $(STAMP)
	$(BIN)/tumorboard serve --workspace $(WORKSPACE)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

benchmark: $(STAMP)
	$(BIN)/python benchmarks/bench_import.py
	$(BIN)/python benchmarks/bench_analysis.py
	$(BIN)/python benchmarks/bench_report.py --workspace $(WORKSPACE)
	$(BIN)/python benchmarks/bench_classifier.py
	$(BIN)/python benchmarks/bench_pfsr.py
	$(BIN)/python benchmarks/bench_survival.py
	$(BIN)/python benchmarks/bench_web.py $(if $(BENCH_POSTGRES_URL),--db sqlite --db $(BENCH_POSTGRES_URL))
	$(if $(BENCH_POSTGRES_URL),$(BIN)/python benchmarks/bench_scale.py --patients 1000 --patients 10000 --subset 1000 --db $(BENCH_POSTGRES_URL) --append)

# Full-page screenshots of the main pages (real Chromium, /usr/bin/chromium) into docs/screenshots
screenshots: $(STAMP)
	TUMORBOARD_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q tests/web/test_browser.py

clean:
	rm -rf $(VENV) $(WORKSPACE) .pytest_cache build src/*.egg-info
