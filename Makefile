# The two commands a newcomer needs: `make serve` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: serve test bench check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the dependency list changes. Then the places index is packed into its file once (2 s),
# so that `serve` maps it in milliseconds; serve rebuilds it itself if its sources changed since. The code is
# compiled to bytecode too: where PYTHONDONTWRITEBYTECODE is set, serve would otherwise compile it at every start.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m handlers.reference.places
	$(BIN)/python -m compileall -q gateway handlers store run.py
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/python run.py serve --host $(HOST) --port $(PORT)

# The layer contracts first (seconds), then the suite. Loopback traffic to the fake carriers must never go
# through a proxy (the SDKs use requests).
test: $(STAMP)
	$(BIN)/lint-imports --no-cache
	NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost $(BIN)/python -m pytest -q -rs $(PYTEST_ARGS)

# Lifeline against two baselines, with bench/places.py and bench/console.py; see README "Reading `make bench`".
# BENCH_ARGS=--long runs the open loop for 5 minutes; BENCH_ARGS="--target ../other" measures another checkout.
bench: $(STAMP)
	NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost $(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
