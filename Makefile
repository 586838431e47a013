# The two set-up commands: `make run` (the sync service on the embedded default)
# and `make test` (every check and test). Both build .venv by themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

.PHONY: run test lint typecheck pytest bench clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev,demo]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/possync run

test: $(STAMP) lint typecheck
	scripts/ensure-postgres
	$(BIN)/pytest -n 2 --dist loadgroup

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy possync flows tasks blocks emulators bench tests

bench: $(STAMP)
	$(BIN)/python bench/stock_sync.py

clean:
	rm -rf $(VENV) .possync .mypy_cache .ruff_cache .pytest_cache
