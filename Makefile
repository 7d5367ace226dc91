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

.PHONY: setup demo test test-fast lint firmware bench fuzz clean default-model adopt-default stream-model \
	adopt-stream

setup:
	@./tools/setup.sh

demo: setup
	@$(PY) tools/demo.py --out $(DEMO)

# Tests run in parallel (pytest-xdist): one worker per core, at most 4 (each worker imports TensorFlow
# and drives compilers and QEMU). --dist loadfile keeps each test file on one worker, so a file's
# module-scoped fixtures (trained models, firmware builds) are built once; files are dealt out
# costliest first (tests/conftest.py HEAVY_FIRST, kept by --no-loadscope-reorder). TEST_JOBS=0: one process.
# --durations: the CI log names the slowest tests, so the suite's cost stays visible.
TEST_JOBS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); echo $$(( n > 4 ? 4 : n )))
PYTEST_PAR = -n $(TEST_JOBS) --dist loadfile --no-loadscope-reorder

test: setup
	@$(PY) -m pytest -q $(PYTEST_PAR) --durations=25 tests

test-fast: setup
	@$(PY) -m pytest -q $(PYTEST_PAR) -m "not slow" tests

lint: setup
	@$(VENV)/bin/ruff check host tests tools benchmarks

firmware: setup
	@$(EDGEKWS) firmware build --board $(BOARD) --bundle $(BUNDLE) --out $(BUILD)/fw-$(BOARD)

bench: setup
	@$(PY) benchmarks/run_all.py --out $(BUILD)/bench

fuzz: setup
	@$(PY) tools/fuzz.py run --time $${FUZZ_SECONDS:-30} --build-dir $(BUILD)/fuzz --out $(BUILD)/fuzz/fuzz.json

# default-model: the real-speech recipe of models/default (issue 12; figures in
# benchmarks/results/teacher_distill.md). Synthetic voices from four offline engines (espeak-ng,
# flite, festival, and the neural piper voice), 14 fresh
# perturbations of every clip (speed, vocal tract, microphone, room, real noise, voice mixing),
# a teacher (a speech embedding pre-trained on real speech + a head fitted on the synthetic
# rounds), a second teacher (MLTK's DS-CNN trained on real Speech Commands, fetched by setup and
# imported; it labels the rounds' exact audio and gives its features through its own frontend) and
# the DS-CNN-S student, started from the MLTK model's weights and frontend and distilled from both
# teachers on the same rounds (fine-tuning: learning rate 1e-4, teacher weight 0.9). ~50 min on 2 cores.
# Writes $(DEFAULT_OUT)/bundle; `make adopt-default` copies it to models/default with its C.
# NOISE_DIR: a dataset's _background_noise_ recordings (training noise; synthetic when absent).
DEFAULT_OUT ?= $(BUILD)/default-model
NOISE_DIR ?= ../shared/data/sc_background_noise
REAL_DEV ?= ../shared/data/real_kws_dev
DEFAULT_NOISE = $$(test -d "$(NOISE_DIR)" && echo --noise "$(NOISE_DIR)")
DEFAULT_ROUNDS = --rounds-dir $(DEFAULT_OUT)/rounds/0-espeak --rounds-dir $(DEFAULT_OUT)/rounds/1-flite-festival \
	--rounds-dir $(DEFAULT_OUT)/rounds/2-piper
# the student's fine-tuning on the rounds with the embedding teacher (stream-model reuses it)
DISTILL_FT = --teacher $(DEFAULT_OUT)/teacher --rounds 14 --epochs 2 --learning-rate 1e-4 --alpha 0.9 $(DEFAULT_ROUNDS)
default-model: setup
	@$(EDGEKWS) data synth --out $(DEFAULT_OUT)/espeak --per-word 300 --unknown-per-word 60 --seed 1
	@$(EDGEKWS) data synth --out $(DEFAULT_OUT)/flite-festival --engines flite,festival --per-word 150 \
		--unknown-per-word 30 --seed 2
	@$(EDGEKWS) data synth --out $(DEFAULT_OUT)/piper --engines piper --per-word 150 --unknown-per-word 30 --seed 3
	@$(EDGEKWS) teacher rounds --out $(DEFAULT_OUT)/rounds --data $(DEFAULT_OUT)/espeak \
		--data $(DEFAULT_OUT)/flite-festival --data $(DEFAULT_OUT)/piper --rounds 14 $(DEFAULT_NOISE)
	@$(EDGEKWS) teacher train --out $(DEFAULT_OUT)/teacher --rounds 4 $(DEFAULT_ROUNDS)
	@$(EDGEKWS) import "$$($(PY) -c 'from edgekws.export import mltk_model as m; print(m.default_dir() / m.MODEL_FILE)')" \
		--frontend tflm-microfrontend --labels yes,no,up,down,left,right,on,off,stop,go,unknown,_background_noise_ \
		--rename unknown=_unknown_,_background_noise_=_silence_ --norm 0,7 --name mltk-kws \
		--testset-data $(DEFAULT_OUT)/piper --out $(DEFAULT_OUT)/mltk-kws
	@$(EDGEKWS) teacher label-rounds --bundle $(DEFAULT_OUT)/mltk-kws --rounds 14 $(DEFAULT_ROUNDS)
	@$(EDGEKWS) distill --out $(DEFAULT_OUT)/bundle --bundle-teacher $(DEFAULT_OUT)/mltk-kws \
		--init-bundle $(DEFAULT_OUT)/mltk-kws $(DISTILL_FT)
	@if [ -d "$(REAL_DEV)" ]; then $(EDGEKWS) evaluate $(DEFAULT_OUT)/bundle --data $(REAL_DEV); \
	else echo "real-speech evaluation skipped: no $(REAL_DEV) (set REAL_DEV to the unpacked Speech Commands test set)"; fi

# adopt-default: make $(DEFAULT_OUT)/bundle the committed default: autotuned kernels, C, the
# emulator's self-test and bench figures, real-speech evaluation; then swap it into models/default.
# ADOPT(OUT, MODELS): the steps above for $(OUT)/bundle, swapped into the committed folder MODELS.
define ADOPT
	@rm -rf $(1)/adopt && cp -r $(1)/bundle $(1)/adopt && rm -rf $(1)/adopt/rounds
	@$(EDGEKWS) export autotune $(1)/adopt -b ref -b simd -b wp -b block --work $(1)/autotune
	@$(EDGEKWS) export c $(1)/adopt $(1)/adopt/c
	@$(EDGEKWS) firmware selftest --bundle $(1)/adopt/c --out $(1)/fw-selftest
	@for mode in latency accuracy; do $(PY) tools/bench.py --emulate --bundle $(1)/adopt --mode $$mode \
		--runs 5 --out $(1)/adopt/report.json --jsonl $(1)/bench-$$mode.jsonl \
		--build-dir $(1)/fw --no-progress || exit 1; done
	@if [ -d "$(REAL_DEV)" ]; then $(EDGEKWS) evaluate $(1)/adopt --data $(REAL_DEV) --no-progress; fi
	@rm -rf $(2) && mv $(1)/adopt $(2) && echo "$(2) <- $(1)/bundle"
endef
adopt-default: setup
	$(call ADOPT,$(DEFAULT_OUT),models/default)

# stream-model: the streaming-aware twin of the default (issue 13), recipe ds-cnn-s-stream (convolutions
# valid in time, so a device can compute only the frames that are new). Run default-model first: it
# starts from the default's distilled bundle (SAME; init_weights loads it into the valid-in-time
# layers, logged) and learns from it as the bundle teacher, on the same rounds with the same
# fine-tuning as the default (starting from the MLTK model instead scored 70.0 %, see
# benchmarks/results/teacher_distill.md). Writes $(STREAM_OUT)/bundle; `make adopt-stream` makes it models/stream.
STREAM_OUT ?= $(BUILD)/stream-model
stream-model: setup
	@test -d $(DEFAULT_OUT)/bundle -a -d $(DEFAULT_OUT)/teacher || \
		{ echo "stream-model: no $(DEFAULT_OUT)/bundle or teacher: run make default-model first"; exit 1; }
	@$(EDGEKWS) teacher label-rounds --bundle $(DEFAULT_OUT)/bundle --rounds 14 $(DEFAULT_ROUNDS)
	@$(EDGEKWS) distill --recipe ds-cnn-s-stream --out $(STREAM_OUT)/bundle --bundle-teacher $(DEFAULT_OUT)/bundle \
		--init-bundle $(DEFAULT_OUT)/bundle $(DISTILL_FT)
	@if [ -d "$(REAL_DEV)" ]; then $(EDGEKWS) evaluate $(STREAM_OUT)/bundle --data $(REAL_DEV); \
	else echo "real-speech evaluation skipped: no $(REAL_DEV) (set REAL_DEV to the unpacked Speech Commands test set)"; fi

adopt-stream: setup
	$(call ADOPT,$(STREAM_OUT),models/stream)
	@if [ -d "$(REAL_DEV)" ]; then $(PY) benchmarks/stream_cost.py --bundle models/stream --data $(REAL_DEV) \
		--report models/stream/report.json --out $(STREAM_OUT)/stream_cost.json; \
	else echo "streaming cost skipped: no $(REAL_DEV) (its clips make the real-speech stream)"; fi

clean:
	rm -rf $(BUILD)
