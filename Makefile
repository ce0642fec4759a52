# stylevideo: `make train` and `make test` work on a fresh clone; everything installs into .venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
EXP ?= stylegan2_synthetic
ARGS ?=
PYTEST_ARGS ?=

.PHONY: install install-face train test bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The base install: what training needs (no compiled-from-source extras).
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e ".[dev]"
	touch $@

# The face extra (dlib builds from source once; pip's wheel cache keeps it).
$(VENV)/.installed-face: $(VENV)/.installed
	$(BIN)/pip install -e ".[dev,face]"
	touch $@

install: $(VENV)/.installed

install-face: $(VENV)/.installed-face

train: install
	$(BIN)/lightning fit --config experiments/$(EXP).yaml $(ARGS)

test: install-face
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m stylevideo.bench $(ARGS)

lint: install
	$(BIN)/ruff check src data_modules callbacks tests

clean:
	rm -rf runs wandb lightning_logs .pytest_cache .ruff_cache
