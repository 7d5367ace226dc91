# edgekws — the README's two commands are `make demo` and `make test`.
# Every target installs what it needs first (tools/setup.sh is idempotent).

SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
EDGEKWS := $(VENV)/bin/edgekws
BUILD ?= build
DEMO  ?= $(BUILD)/demo
BOARD ?= mps2_an500
BUNDLE ?= models/default

.PHONY: setup demo test test-fast lint firmware bench fuzz clean

setup:
	@./tools/setup.sh

demo: setup
	@$(PY) tools/demo.py --out $(DEMO)

test: setup
	@$(PY) -m pytest -q tests

test-fast: setup
	@$(PY) -m pytest -q -m "not slow" tests

lint: setup
	@$(VENV)/bin/ruff check host tests tools benchmarks

firmware: setup
	@$(EDGEKWS) firmware build --board $(BOARD) --bundle $(BUNDLE) --out $(BUILD)/fw-$(BOARD)

bench: setup
	@$(PY) benchmarks/run_all.py --out $(BUILD)/bench

fuzz: setup
	@$(PY) tools/fuzz.py run --time $${FUZZ_SECONDS:-30} --build-dir $(BUILD)/fuzz --out $(BUILD)/fuzz/fuzz.json

clean:
	rm -rf $(BUILD)
