# CoRe Atlas: `make demo` runs the main job on the built-in data; `make test` runs the suite;
# `make serve` starts the server on its embedded database (./coreatlas-data).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: demo test lint bench serve clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(STAMP)

demo: $(STAMP)
	$(BIN)/coreatlas demo

serve: $(STAMP)
	$(BIN)/coreatlas serve

test: $(TEST_STAMP)
	$(BIN)/python -m pytest -q

lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/python tools/check_layers.py

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_static.py
	$(BIN)/python benchmarks/bench_dynamics.py
	$(BIN)/python benchmarks/bench_risk.py
	$(BIN)/python benchmarks/bench_ario.py
	$(BIN)/python benchmarks/bench_demo.py

clean:
	rm -rf $(VENV) coreatlas-report .pytest_cache .hypothesis
