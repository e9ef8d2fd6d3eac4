# Three commands for a fresh machine: make setup, make demo, make test.
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
DEMO ?= build/demo
SLUG := security-triage-assistant

.PHONY: setup demo test
setup:  ## a virtualenv with CPU torch first, then the stack
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -r requirements.txt

demo:  ## bake with defaults, install the project, run its pipeline offline
	rm -rf $(DEMO)
	PATH=$(BIN):$$PATH $(BIN)/cookiecutter . --no-input --output-dir $(DEMO)
	$(BIN)/pip install --quiet --no-build-isolation -e '$(DEMO)/$(SLUG)[dev]'
	cd $(DEMO)/$(SLUG) && PATH=$(BIN):$$PATH HF_HUB_OFFLINE=1 DVC_NO_ANALYTICS=1 dvc repro
	cat $(DEMO)/$(SLUG)/reports/evaluate/report.md

test:
	PATH=$(BIN):$$PATH $(BIN)/pytest
