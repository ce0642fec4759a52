# stylevideo: `make train` and `make test` work on a fresh clone; everything installs into .venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
EXP ?= onestyle_synthetic
ARGS ?=
PYTEST_ARGS ?=
PIPELINE ?= 1
SWEEP ?=

.PHONY: install install-face train test bench lint sweep clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The base install: what training needs (no compiled-from-source extras).
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e ".[dev]"
	touch $@

# The face extra: dlib-bin's prebuilt dlib where it has a wheel, else dlib built from source
# (once; pip's wheel cache keeps it). Both install the module dlib: remove either first, so
# that a venv from before the switch never holds both.
$(VENV)/.installed-face: $(VENV)/.installed
	$(BIN)/pip uninstall -y -q dlib dlib-bin
	$(BIN)/pip install -e ".[dev,face]"
	touch $@

install: $(VENV)/.installed

install-face: $(VENV)/.installed-face

# styleinv_<dataset> runs its three stages in a row (finished stages are skipped);
# PIPELINE=0 trains only the named config.
train: install
ifeq ($(and $(filter styleinv_%,$(EXP)),$(filter 1,$(PIPELINE))),1)
	$(BIN)/python -m stylevideo.methods.styleinv.pipeline $(EXP) $(ARGS)
else
	$(BIN)/lightning fit --config experiments/$(EXP).yaml $(ARGS)
endif

test: install-face
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m stylevideo.bench $(ARGS)

lint: install
	$(BIN)/ruff check src data_modules callbacks tests

# Create a W&B sweep from experiments/sweeps/$(SWEEP).yaml and start an agent on it.
sweep: install
	@test -n "$(SWEEP)" || { echo "usage: make sweep SWEEP=<name in experiments/sweeps>"; exit 2; }
	@log=$$(mktemp); PATH="$(abspath $(BIN)):$$PATH" $(BIN)/wandb sweep experiments/sweeps/$(SWEEP).yaml 2>&1 | tee $$log; \
	id=$$(sed -e 's/\x1b\[[0-9;]*m//g' -n -e 's/.*wandb agent //p' $$log | tail -n 1); rm -f $$log; \
	test -n "$$id" && PATH="$(abspath $(BIN)):$$PATH" exec $(BIN)/wandb agent $$id

clean:
	rm -rf runs wandb lightning_logs .pytest_cache .ruff_cache
