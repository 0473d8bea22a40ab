# Two entry points, each installing what it needs into .venv first:
#   make demo   the local demo of the whole pipeline
#   make test   the test suite (what CI runs, after `make check`); needs npm for the CDK CLI
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
LINTED  = taskworker tests examples $(wildcard benchmarks infra)

.PHONY: demo test check browser bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(VENV)/.installed-test: pyproject.toml infra/package-lock.json | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,infra]'
	npm ci --prefix infra --no-audit --no-fund --loglevel=error
	touch $@

demo: $(VENV)/.installed-dev
	$(BIN)/taskworker demo

test: $(VENV)/.installed-test
	JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 CDK_DISABLE_CLI_TELEMETRY=true \
		AWS_EC2_METADATA_DISABLED=true $(BIN)/python -m pytest

check: $(VENV)/.installed-test
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/mypy

# The console's browser test (tests/console/test_browser.py) drives Debian's Chromium through
# Debian's chromedriver (no browser download). CI runs this first, as root, so that the test
# runs there instead of skipping: about 40 s when missing, nothing when installed.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null; }

bench: $(VENV)/.installed-test
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
