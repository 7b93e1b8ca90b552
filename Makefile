# Two entry points for a fresh machine with python3, make and git: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# az loads this checkout as the extension `communication` from here (see scripts/dev_source.py), and wheel
# extensions from an empty folder of its own, so that an installed public `communication` wheel stays out.
DEV_SOURCE := $(abspath $(VENV))/az-extensions
EXT_DIR    := $(abspath $(VENV))/az-cliextensions

.PHONY: demo shell test lint wheel bench venv egg-info clean test-compat

$(STAMP): requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

# The extension is loaded from this checkout as an az "dev source": the egg-info marks the folder, and
# $(DEV_SOURCE)/communication links to it so that az names it `communication` wherever the checkout lives.
egg-info: $(STAMP)
	$(BIN)/python setup.py --quiet egg_info >/dev/null
	$(BIN)/python scripts/dev_source.py $(DEV_SOURCE) >/dev/null
	mkdir -p $(EXT_DIR)

# A shell in which `az communication ...` works by hand (exit to leave).
shell: egg-info
	@echo "az is $(abspath $(BIN))/az with this checkout as the extension 'communication'. Next:"
	@echo "  az communication emulator start     (in another terminal: make shell there too), then paste its export lines"
	@echo "Type 'exit' to leave this shell."
	@PATH="$(abspath $(BIN)):$$PATH" AZURE_EXTENSION_DEV_SOURCES="$(DEV_SOURCE)" AZURE_EXTENSION_DIR="$(EXT_DIR)" \
		AZURE_CORE_COLLECT_TELEMETRY=no $${SHELL:-/bin/bash} -i

demo: egg-info
	bash scripts/demo.sh

lint: $(STAMP)
	$(BIN)/ruff check .

test: egg-info lint
	$(BIN)/python -m pytest -q
	$(MAKE) --no-print-directory test-compat

wheel: $(STAMP)
	rm -rf dist
	$(BIN)/python -m pip wheel --quiet --no-deps --no-build-isolation -w dist .
	@ls dist/*.whl

bench: egg-info
	$(BIN)/python bench/run.py

clean:
	rm -rf build dist .demo .bench *.egg-info .pytest_cache .ruff_cache

# ---- Compatibility: kept apart from the rest; `make test` runs it after the suite ----------------------------
# Every command, live against the emulator, on the oldest azure-cli-core the extension declares
# (azext.minCliCoreVersion; pinned in requirements-compat.txt), in a venv of its own.
COMPAT_VENV  := .venv-260
COMPAT_STAMP := $(COMPAT_VENV)/.installed

$(COMPAT_STAMP): requirements-compat.txt
	$(PYTHON) -m venv $(COMPAT_VENV)
	$(COMPAT_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(COMPAT_VENV)/bin/python -m pip install --quiet -r requirements-compat.txt
	touch $(COMPAT_STAMP)

test-compat: egg-info $(COMPAT_STAMP)
	$(COMPAT_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/test_cli_every_command.py tests/test_cli_commands.py
