# The README's two set-up commands: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
BOUNDARIES ?= ../shared/data/kelurahan_boundaries

.PHONY: demo test lint bench

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/lapor-router data install $(BOUNDARIES)
	$(BIN)/lapor-router data install-layer data/asset_layers/*.toml
	mkdir -p out
	$(BIN)/lapor-router route examples/reports_sample.csv -o out/reports_routed.csv \
		--reporter-cols reporter_name,reporter_phone
	$(BIN)/lapor-router report out/reports_routed.csv --html out/map.html --png out/map.png

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check $$(git ls-files '*.py')
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/lapor-router rules lint
	$(BIN)/python -m pytest
