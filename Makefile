# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test setup clean-venv web-deps

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(PY) -m cli.demo

test: $(STAMP) web-deps
	$(PY) -m pytest

# The browser player's tests need node, Debian's chromium and playwright-core (pinned in
# package-lock.json); install whichever is missing.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
web-deps:
	@command -v node >/dev/null 2>&1 || { $(SUDO) apt-get update && $(SUDO) apt-get install -y nodejs npm; }
	@command -v chromium >/dev/null 2>&1 || \
		{ $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends chromium; }
	@test -d node_modules/playwright-core || npm ci --no-audit --no-fund

clean-venv:
	rm -rf $(VENV)
