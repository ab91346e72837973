# Two commands set everything up on a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TESTED := $(VENV)/.installed-test

.PHONY: run test check lint golden install install-test clean fuzz bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

## `make install`: what `make run` and the scheduled job need, nothing more.
$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e .
	touch $(STAMP)

## `make install-test`: also the test, lint and browser-test tools (`make test` runs it).
$(TESTED): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(TESTED)

install: $(STAMP)

install-test: $(TESTED)

## Ingest every configured edition, diff consecutive editions, write reports/.
## Extra options: make run RUN_ARGS="--fail-on critical". (make turns any failing
## command into exit 2: a script that needs codeset's exit 1 calls .venv/bin/codeset.)
run: $(STAMP)
	$(BIN)/codeset run $(RUN_ARGS)

## Lint, type-check and run the whole test suite (what CI runs).
test: lint
	$(BIN)/python -m pytest -q

## The fast tier: lint, type-check and every test not marked slow (kill test, fuzzing,
## browser, object store).
check: lint
	$(BIN)/python -m pytest -q -m "not slow"

lint: $(TESTED)
	$(BIN)/ruff check pipeline tests bench
	$(BIN)/ruff format --check pipeline tests bench
	$(BIN)/mypy

## Regenerate the golden report files under tests/golden/ (review the diff!).
golden: $(TESTED)
	CODESET_UPDATE_GOLDEN=1 $(BIN)/python -m pytest -q tests/test_render.py

## A longer fuzzing campaign over the readers (make test runs a short one).
FUZZ_SECONDS ?= 300
fuzz: $(TESTED)
	$(BIN)/python -m tests.fuzzing --seconds $(FUZZ_SECONDS)

## Speed and memory at NCCI and ICD-10-CM scale against DuckDB, polars lazy and pandas.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[bench]'
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
