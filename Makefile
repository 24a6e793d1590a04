# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TORCH_CPU ?= 2.13.0

.PHONY: demo test setup peer clean-venv web-deps bench-deps

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	# the CPU build of torch first (0.75 GB, where PyPI's default is a 5 GB CUDA build); the
	# project's range accepts it, so the next line keeps it (README "Install size")
	$(PY) -m pip install --quiet 'torch==$(TORCH_CPU)'
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# the CompressAI hyperprior peer (train --arch hyperprior, benchmarks/): compressai imports
# torchvision, whose wheels need the CUDA build of torch, so this swaps torch for it
peer: $(STAMP)
	$(PY) -m pip install --quiet 'torch==2.14.1' -e '.[test,peer,bench]'

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

# Peer encoders for benchmarks/bench_scene.py (PlayCanvas splat-transform, pinned in
# benchmarks/node/package-lock.json); needs Node.js and npm. Not part of `make test`.
bench-deps:
	npm ci --prefix benchmarks/node --no-audit --no-fund

clean-venv:
	rm -rf $(VENV)
