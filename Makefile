# Two entry points for a fresh machine with python3, make and git: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# az loads this checkout as the extension `communication` from here (see scripts/dev_source.py), and wheel
# extensions from an empty folder of its own, so that an installed public `communication` wheel stays out.
DEV_SOURCE := $(abspath $(VENV))/az-extensions
EXT_DIR    := $(abspath $(VENV))/az-cliextensions

.PHONY: demo shell test test-py test-js test-browser browser-deps system-deps screenshots lint wheel bench venv egg-info clean \
        test-compat test-py-next

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

# Every suite; each later one runs only when the earlier ones passed.
test: test-py test-js test-browser test-compat test-py-next

test-py: egg-info lint system-deps
	$(BIN)/python -m pytest -q

# The JavaScript SDK conformance suite (tests/js/README.md): the npm SDKs, pinned by the lockfile, against the
# emulator under `node --test`. npm ci runs again whenever package.json or the lockfile is newer than the install.
JS_DIR   := tests/js
JS_STAMP := $(JS_DIR)/node_modules/.installed

$(JS_STAMP): $(JS_DIR)/package.json $(JS_DIR)/package-lock.json
	cd $(JS_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $(JS_STAMP)

test-js: egg-info $(JS_STAMP)
	cd $(JS_DIR) && EMULATOR_PYTHON=$(abspath $(BIN))/python node run.js

# The browser tests (tests/browser): Debian's Chromium driven by playwright-core, npm packages from the lockfile.
BROWSER_DIR := tests/browser
$(BROWSER_DIR)/node_modules/.installed: $(BROWSER_DIR)/package-lock.json
	cd $(BROWSER_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

browser-deps: $(BROWSER_DIR)/node_modules/.installed system-deps

# Debian's Chromium and certutil (NSS tools), installed when missing: the browser tests and the Python tests of
# `emulator trust` need them.
system-deps:
	bash scripts/install_browser.sh

test-browser: egg-info browser-deps
	cd $(BROWSER_DIR) && npm test

# The README's pictures of the emulator's web page (docs/images/inspector-*.png), from a scripted session.
screenshots: egg-info browser-deps
	cd $(BROWSER_DIR) && node screenshots.mjs

wheel: $(STAMP)
	rm -rf dist
	$(BIN)/python -m pip wheel --quiet --no-deps --no-build-isolation -w dist .
	@ls dist/*.whl

bench: egg-info browser-deps
	$(BIN)/python bench/run.py

clean:
	rm -rf build dist .demo .bench *.egg-info .pytest_cache .ruff_cache $(BROWSER_DIR)/node_modules

# ---- Compatibility: kept apart from the rest; `make test` runs it after the suite ----------------------------
# Every command, live against the emulator, on an older azure-cli and its own core, in a venv per version: 2.60
# in `make test`; `make test-compat COMPAT_CORE=2.57.0` checks the oldest the extension declares
# (azext.minCliCoreVersion). Other pins: requirements-compat.txt.
COMPAT_CORE  ?= 2.60.0
COMPAT_VENV  := .venv-$(subst .,,$(basename $(COMPAT_CORE)))
COMPAT_STAMP := $(COMPAT_VENV)/.installed-$(COMPAT_CORE)

$(COMPAT_STAMP): requirements-compat.txt
	$(PYTHON) -m venv $(COMPAT_VENV)
	$(COMPAT_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(COMPAT_VENV)/bin/python -m pip install --quiet -r requirements-compat.txt \
		azure-cli==$(COMPAT_CORE) azure-cli-core==$(COMPAT_CORE)
	touch $(COMPAT_STAMP)

test-compat: egg-info $(COMPAT_STAMP)
	$(COMPAT_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/test_cli_every_command.py tests/test_cli_commands.py

# The whole suite again on a newer Python (3.12 or 3.13, as az's own installers ship: Debian 12 offers only 3.11,
# the machine image's pyenv has both). Part of `make test`; where neither is installed it says so and passes,
# except in CI (CI=true), which must run it.
PY_NEXT ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12 \
                                  $(HOME)/.pyenv/versions/3.13*/bin/python3.13 /usr/bin/python3.12 /usr/bin/python3.13))
NEXT_VENV  := .venv-next
NEXT_STAMP := $(NEXT_VENV)/.installed

$(NEXT_STAMP): requirements-dev.txt
	$(PY_NEXT) -m venv $(NEXT_VENV)
	$(NEXT_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(NEXT_VENV)/bin/python -m pip install --quiet -r requirements-dev.txt
	touch $(NEXT_STAMP)

ifeq ($(PY_NEXT),)
test-py-next: egg-info
	@if [ "$$CI" = "true" ]; then echo "error: CI runs the suite on Python 3.12 or 3.13, and neither is here" >&2; \
		exit 1; fi
	@echo "no Python 3.12 or 3.13 on this machine: the suite ran on $$($(BIN)/python --version) only"
else
test-py-next: egg-info $(NEXT_STAMP)
	@echo "the whole suite again, on $$($(NEXT_VENV)/bin/python --version)"
	$(NEXT_VENV)/bin/python -m pytest -q -p no:cacheprovider
endif
