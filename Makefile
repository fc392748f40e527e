# supportbot: `make run` sets up and starts the bot, `make test` sets up and runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The stamp is newer than pyproject.toml once the venv matches it: no reinstall on a second call.
STAMP := $(VENV)/.installed

.PHONY: run test test-e2e bench soak model clean

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

test: $(STAMP)
	$(BIN)/python -m pytest

test-e2e: $(STAMP)
	$(BIN)/python -m pytest -m e2e

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
