"""Replay the committed fuzz corpus (firmware/fuzz/corpus) under ASan+UBSan in every test run.

Why: the bounded fuzz pass is slow; the corpus it grew is the cheap regression
net. Each target is built without libFuzzer (firmware/fuzz/replay_main.c feeds
the files) so this runs wherever clang or gcc is. crash-* files are known
findings: each is an xfail(strict) case that flips when the bug is fixed.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fuzz_tool import load

FUZZ = load()
TARGETS = [t.name for t in FUZZ.targets()]
CRASHES = sorted((p.parent.name, p.name) for p in FUZZ.CORPUS.glob("*/crash-*"))


@pytest.fixture(scope="module")
def replay_build(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if FUZZ.shutil.which("clang") is None and FUZZ.shutil.which("gcc") is None:
        pytest.fail("neither clang nor gcc is installed")
    return FUZZ.build("replay", tmp_path_factory.mktemp("fuzz-replay")).binaries


def test_every_target_has_a_small_committed_corpus() -> None:
    total = 0
    for name in TARGETS:
        files = list((FUZZ.CORPUS / name).iterdir())
        assert len(files) >= 2, f"{name}: corpus too small"
        total += len(files)
    assert total < 200, f"corpus has {total} files; keep it under 200"
    assert {p.name for p in FUZZ.CORPUS.iterdir()} == set(TARGETS)


def test_seed_corpus_is_what_the_generator_writes(tmp_path: Path) -> None:
    """The committed seeds are reproducible: `tools/fuzz.py seed` writes the same bytes."""
    FUZZ.write_seed_corpus(tmp_path)
    for p in tmp_path.glob("*/seed-*"):
        assert (FUZZ.CORPUS / p.parent.name / p.name).read_bytes() == p.read_bytes(), p


@pytest.mark.parametrize("target", TARGETS)
def test_corpus_replays_clean(replay_build: dict[str, Path], target: str) -> None:
    res = FUZZ.replay_target(replay_build[target], target)
    assert res.ok, res.tail
    assert res.inputs == len(FUZZ._corpus_files(target)) > 0


MUTANT_COBS = r"""
#include "edgekws/protocol.h"
/* A COBS pair with one planted bug: decode copies one byte past each group's end. */
size_t cobs_encode(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    size_t code_at = 0, o = 1;
    uint8_t code = 1;
    if (cap == 0) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (in[i] == 0 || code == 0xFF) {
            out[code_at] = code;
            code = 1;
            code_at = o++;
            if (in[i] != 0) {
                if (o >= cap) { return 0; }
                out[o++] = in[i];
                code++;
            }
            if (o > cap) { return 0; }
            continue;
        }
        if (o >= cap) { return 0; }
        out[o++] = in[i];
        code++;
    }
    out[code_at] = code;
    return o;
}
long cobs_decode(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    size_t i = 0, o = 0;
    while (i < n) {
        uint8_t code = in[i++];
        if (code == 0) { return -1; }
        for (uint8_t k = 1; k <= code; k++) {  /* BUG: should be k < code */
            if (o >= cap) { return -1; }
            out[o++] = in[i++];
        }
        if (code < 0xFF && i < n) {
            if (o >= cap) { return -1; }
            out[o++] = 0;
        }
    }
    return (long)o;
}
"""


def test_replay_catches_a_planted_bug(tmp_path: Path) -> None:
    """The harness and corpus are not vacuous: a COBS decoder that reads one byte too far is caught."""
    mutant = tmp_path / "cobs_mutant.c"
    mutant.write_text(MUTANT_COBS)
    cc = FUZZ.find_compiler("replay")
    src = FUZZ.FW / "src" / "protocol"
    exe = tmp_path / "frame_mutant"
    subprocess.run([cc, *FUZZ.SAN, "-std=c11", "-I", str(FUZZ.FW / "include"), str(FUZZ.FUZZ_DIR / "fuzz_frame.c"),
                    str(FUZZ.FUZZ_DIR / "replay_main.c"), str(mutant), str(src / "crc32.c"), str(src / "frame.c"),
                    "-o", str(exe)], check=True)
    proc = subprocess.run([str(exe), str(FUZZ.CORPUS / "frame")], capture_output=True, text=True,
                          env=dict(FUZZ.os.environ, **FUZZ.SAN_ENV))
    assert proc.returncode != 0
    assert "AddressSanitizer" in proc.stderr or "fuzz finding" in proc.stderr


def _crash_case(target: str, name: str) -> object:
    return pytest.param(target, name, marks=pytest.mark.xfail(
        strict=True, reason=f"known fuzz finding {target}/{name}: reported to its owner, not fixed here"))


if CRASHES:  # known findings committed as corpus/<target>/crash-*

    @pytest.mark.parametrize(("target", "name"), [_crash_case(t, n) for t, n in CRASHES])
    def test_known_crash_is_fixed(replay_build: dict[str, Path], target: str, name: str) -> None:
        """A committed crash-* input replays clean once its bug is fixed (then rename it to seed-*)."""
        proc = subprocess.run([str(replay_build[target]), str(FUZZ.CORPUS / target / name)], capture_output=True,
                              text=True, env=dict(FUZZ.os.environ, **FUZZ.SAN_ENV))
        assert proc.returncode == 0, proc.stderr[-2000:]
