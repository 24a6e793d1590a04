# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test setup clean-venv bench-deps

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(PY) -m cli.demo

test: $(STAMP)
	$(PY) -m pytest

# Peer encoders for benchmarks/bench_scene.py (PlayCanvas splat-transform, pinned in
# benchmarks/node/package-lock.json); needs Node.js and npm. Not part of `make test`.
bench-deps:
	npm ci --prefix benchmarks/node --no-audit --no-fund

clean-venv:
	rm -rf $(VENV)
