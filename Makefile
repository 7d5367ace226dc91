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

.PHONY: setup demo test test-fast lint firmware bench fuzz clean default-model

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

# default-model: regenerate the multi-engine synthetic data and retrain the default DS-CNN-S with
# the real-speech recipe (models/recipes/ds-cnn-s-real.yaml). Writes $(DEFAULT_OUT)/bundle and
# leaves models/default alone (copy the bundle there, then regenerate its C, to adopt it).
# NOISE_DIR: a dataset's _background_noise_ recordings (synthetic noise when absent).
DEFAULT_OUT ?= $(BUILD)/default-model
DEFAULT_PER_WORD ?= 600
NOISE_DIR ?= ../shared/data/sc_background_noise
REAL_DEV ?= ../shared/data/real_kws_dev
default-model: setup
	@$(EDGEKWS) data synth --out $(DEFAULT_OUT)/data --per-word $(DEFAULT_PER_WORD) --seed 0 \
		--engines espeak,flite,festival --channel --reverb 0.5 --unknown-words broad --unknown-per-word 3 \
		$$(test -d "$(NOISE_DIR)" && echo --noise-dir "$(NOISE_DIR)")
	@$(EDGEKWS) train ds-cnn-s-real --data $(DEFAULT_OUT)/data --out $(DEFAULT_OUT)/bundle --seed 0
	@if [ -d "$(REAL_DEV)" ]; then $(EDGEKWS) evaluate $(DEFAULT_OUT)/bundle --data $(REAL_DEV); \
	else echo "real-speech evaluation skipped: no $(REAL_DEV) (set REAL_DEV to the unpacked Speech Commands test set)"; fi

clean:
	rm -rf $(BUILD)
