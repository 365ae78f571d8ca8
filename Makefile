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
	$(BIN)/lapor-router locate-file examples/reports_sample.csv \
		--claimed-col claimed_kelurahan --accuracy-col accuracy_m

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check $$(git ls-files '*.py')
	$(BIN)/mypy

test: lint
	$(BIN)/lapor-router rules lint
	$(BIN)/python -m pytest
