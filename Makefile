# supportbot: `make run` sets up and starts the bot, `make test` sets up and runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The stamp is newer than pyproject.toml once the venv matches it: no reinstall on a second call.
STAMP := $(VENV)/.installed

.PHONY: run test lint test-e2e bench soak fresh model clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Trains the starter model only when no model is live.
model: $(STAMP)
	$(BIN)/supportbot train --if-missing

run: model
	$(BIN)/supportbot run

test: lint
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check bot training storage tests bench demo_shop

test-e2e: $(STAMP)
	$(BIN)/python -m pytest -m e2e

# Benchmarks: bench/results.json, BENCHMARKS.md, bench/figures/. The last whole run took 31 minutes on two
# busy cores, its distributed phase failing about 8 minutes in; a run whose distributed phase finishes
# takes a few minutes more.
# The bench extra (fastText) is installed once, on top of the test venv.
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench.run

# Reliability: the soak under injected faults, the kill -9 loops, the handoff soak and every hypothesis
# property test at 10,000 examples; figures in bench/soak.json, see RELIABILITY.md. It took 22 minutes
# on two cores before the handoff soak joined; that adds SOAK_MESSAGES at about 21 a second.
# No pytest log capture: it keeps every record (and the frames of its exception), which the memory
# samples would count as the bot's growth.
SOAK_MESSAGES ?= 20000
SOAK_USERS ?= 200
SOAK_KILLS ?= 10
soak: $(STAMP)
	rm -f bench/soak.json
	SOAK_MESSAGES=$(SOAK_MESSAGES) SOAK_USERS=$(SOAK_USERS) SOAK_KILLS=$(SOAK_KILLS) HYPOTHESIS_PROFILE=soak \
		$(BIN)/python -m pytest -m "soak or hypothesis" -p no:logging --durations=0

# `make run` on a fresh clone of HEAD (commit first): venv, starter model, an order question answered by the demo shop.
fresh: $(STAMP)
	$(BIN)/python -m pytest -m fresh -p no:cacheprovider

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
