# The one entry point for humans and CI. `make run` serves the default stack; `make test` runs
# everything (lint, import contracts, the whole test suite). Both set themselves up first.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 4010

.PHONY: setup browser run test lint format bench generate clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test,lint]"
	touch $(STAMP)

# Debian's Chromium and ChromeDriver for tests/browser (skipped when already installed).
browser:
	scripts/install-browser.sh

run: setup
	$(BIN)/aimock serve --port $(PORT) $(if $(FIXTURES),-f $(FIXTURES))

lint: setup
	$(BIN)/ruff check server operator tests bench
	$(BIN)/ruff format --check server operator tests bench
	$(BIN)/mypy
	PYTHONPATH=server:operator $(BIN)/lint-imports
	$(BIN)/python -m aimock_operator.crd.generate --check

generate: setup
	$(BIN)/python -m aimock_operator.crd.generate

test: lint browser
	$(BIN)/pytest -q $(PYTEST_ARGS)

format: setup
	$(BIN)/ruff format server operator tests bench
	$(BIN)/ruff check --fix server operator tests bench

bench: setup
	$(BIN)/python bench/bench_http.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
