# One command to run, one to test, one to benchmark.
# `make run` installs the service's runtime packages only; `make test`, `lint`, `typecheck`
# and `bench` (and `make install`, for development) add the `test` extra. Each install is
# remembered by a stamp named after pyproject.toml's hash, so repeated runs skip pip.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HASH   := $(shell cat pyproject.toml | sha256sum | cut -c1-12)
RUNTIME_STAMP := $(VENV)/.installed-runtime-$(HASH)
TEST_STAMP    := $(VENV)/.installed-test-$(HASH)

.PHONY: install run test lint typecheck bench check-wheel clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(RUNTIME_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	rm -f $(VENV)/.installed-runtime-*
	touch $@

# The test extra on top of the runtime: a test install also counts as a runtime install.
$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@ $(RUNTIME_STAMP)

install: $(TEST_STAMP)

run: $(RUNTIME_STAMP)
	$(BIN)/securebase serve --host 127.0.0.1 --port 8000

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(TEST_STAMP)
	$(BIN)/mypy

test: $(TEST_STAMP) lint typecheck
	$(BIN)/pytest $(PYTEST_ARGS)

bench: $(TEST_STAMP)
	$(BIN)/python -m bench

# Build the wheel, install it outside the checkout and serve from it (what CI does).
check-wheel:
	bash .ci/check-wheel

clean:
	rm -rf $(VENV) var build .pytest_cache .mypy_cache .ruff_cache .hypothesis .import_linter_cache
