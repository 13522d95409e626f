# The one entry point for humans and CI. `make run` serves the default stack; `make test` runs
# everything (lint, import contracts, the whole test suite). Both set themselves up first.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 4010

.PHONY: setup browser wrk run test lint format bench generate clean pure image

# The compiled request path (scripts/compile.py, aimock.native): mypyc's extension modules
# beside the sources, rebuilt when any source changes (from a cache outside the clone when the
# same sources were built before). Without them, or when stale, aimock runs its sources.
NATIVE := server/aimock/native.json
SOURCES := $(shell find server/aimock -name '*.py')

setup: $(STAMP) $(NATIVE)

$(NATIVE): $(STAMP) $(SOURCES) scripts/compile.py
	$(BIN)/python scripts/compile.py

# pip is quiet, so each step says what it does (a first setup takes a minute or two);
# PYTHONWARNINGS silences setuptools' banner about editable installs, which asks nothing of us.
$(STAMP): pyproject.toml
	@echo "==> setting up $(VENV) (first run, or pyproject.toml changed)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@echo "==> installing aimock with its test and lint tools (official SDKs included)"
	PYTHONWARNINGS=ignore $(BIN)/pip install --quiet -e ".[test,lint]"
	@echo "==> writing the -OO bytecode aimock serve runs on (aimock.cli: 1.8 MiB less memory)"
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -OO -c "import aimock.app, aimock.cli; aimock.cli._parser()"
	@echo "==> $(VENV) ready"
	touch $(STAMP)

# Debian's Chromium and ChromeDriver for tests/browser (skipped when already installed).
browser:
	scripts/debian-packages.sh "chromium chromedriver" chromium chromium-driver

# wrk and taskset for the benchmark and its smoke test (skipped when already installed).
wrk:
	scripts/debian-packages.sh "wrk taskset" wrk util-linux

run: setup
	$(BIN)/aimock serve --port $(PORT) $(if $(FIXTURES),-f $(FIXTURES))

# The image the Helm chart installs, tagged with the chart's appVersion, built with docker,
# podman or buildah (whichever the machine has; a clear error names them when none is).
APP_VERSION := $(shell sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}/\1/p' charts/aimock/Chart.yaml)
IMAGE ?= ghcr.io/aimock/aimock
image:
	scripts/build-image.sh $(IMAGE):$(APP_VERSION)

lint: setup
	$(BIN)/ruff check server operator tests bench scripts
	$(BIN)/ruff format --check server operator tests bench scripts
	$(BIN)/mypy
	PYTHONPATH=server:operator $(BIN)/lint-imports
	$(BIN)/python -m aimock_operator.crd.generate --check

generate: setup
	$(BIN)/python -m aimock_operator.crd.generate

# With a C compiler the suite must run the compiled request path (tests/server/test_native.py).
test: lint browser wrk
	AIMOCK_EXPECT_COMPILED=$(if $(shell command -v cc),1,0) $(BIN)/pytest -q $(PYTEST_ARGS)

format: setup
	$(BIN)/ruff format server operator tests bench scripts
	$(BIN)/ruff check --fix server operator tests bench scripts

# aimock beside AIMock (installed from npm into ~/.cache/aimock/peers) and the bare aiohttp
# ceiling, driven by wrk (Debian's package, installed when missing), one core each; about 8
# minutes. Writes bench/results/bench.json and bench/results/bench.md. See bench/README.md.
bench: setup wrk
	$(BIN)/python bench/suite.py $(BENCH_ARGS)

# The operator with 200 MockStacks in 50 namespaces on the local control plane (tests/k8s):
# time to Ready, CPU, memory, API requests from the audit log, idle writes, namespace deletion.
# A few minutes; writes bench/results/operator-scale.{json,md}. See bench/README.md.
.PHONY: bench-operator
bench-operator: setup
	$(BIN)/python bench/operator_scale.py $(BENCH_ARGS)

# Back to the sources only (what `AIMOCK_COMPILED=off` does for one process).
pure:
	$(BIN)/python scripts/compile.py --clean

clean: pure
	rm -rf $(VENV) build *.egg-info
