# Two entry points for a fresh machine with python3, make and git: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint wheel bench venv egg-info clean

$(STAMP): requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

# The extension is loaded from this checkout as an az "dev source": the egg-info marks the folder.
egg-info: $(STAMP)
	$(BIN)/python setup.py --quiet egg_info >/dev/null

demo: egg-info
	bash scripts/demo.sh

lint: $(STAMP)
	$(BIN)/ruff check .

test: egg-info lint
	$(BIN)/python -m pytest -q

wheel: $(STAMP)
	rm -rf dist
	$(BIN)/python -m pip wheel --quiet --no-deps --no-build-isolation -w dist .
	@ls dist/*.whl

bench: egg-info
	$(BIN)/python bench/run.py

clean:
	rm -rf build dist .demo .bench *.egg-info .pytest_cache .ruff_cache
