# Two commands set everything up on a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint golden install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Ingest every configured edition, diff consecutive editions, write reports/.
run: $(STAMP)
	$(BIN)/codeset run

## Lint, type-check and run the test suite.
test: lint
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check pipeline tests
	$(BIN)/ruff format --check pipeline tests
	$(BIN)/mypy

## Regenerate the golden report files under tests/golden/ (review the diff!).
golden: $(STAMP)
	CODESET_UPDATE_GOLDEN=1 $(BIN)/python -m pytest -q tests/test_render.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
