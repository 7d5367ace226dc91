#!/usr/bin/env python3
"""Device frontend cost on the emulated Cortex-M7: instructions per 20 ms hop, in QEMU.

Builds a small bare-metal program for QEMU's ``mps2-an500`` (the board files of
firmware/src/board/mps2_an500, the frontend of firmware/src/frontend, the
tables from :mod:`edgekws.frontend.ctables` and a built-in test clip), runs it
under ``-icount`` and reads back, over the UART:

* the instructions of every ``fe_push_hop`` (one hop: shift the stream buffer,
  window, FFT, mel, log, DCT, quantize), and of ``fe_extract_int8`` on the
  whole clip;
* the int8 features both produced, which the script compares with the host's
  device-exact twin (:mod:`edgekws.frontend.device`): they must be identical.

Units: instructions executed (QEMU's virtual clock at ``-icount shift=8,sleep=off``;
exact to one instruction, firmware/src/board/mps2_an500/board.c). QEMU is not
cycle-accurate: this is not a cycle count, and the real-time margin assumes
one instruction per cycle at 216 MHz (the Cortex-M7 often retires two). The
budget is 5 % of the hop: ``0.05 * hop_ms * 216e3`` = 216,000 instructions for
20 ms. Writes JSON to ``--out``.

    .venv/bin/python benchmarks/frontend_device.py [--preset kws-mfcc-49x10] [--seconds 1] \\
        [--wav speech.wav] [--out build/bench/frontend_device.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "host"))  # run from a checkout even without the editable install

CLOCK_HZ = 216_000_000
BUDGET_FRACTION = 0.05

MAIN_C = r"""
#include <stdint.h>
#include <string.h>

#include "edgekws/board.h"
#include "edgekws/frontend.h"
#include "bench_clip.h"

static int8_t g_whole[BENCH_FRAMES * FE_NUM_FEATURES];
static int8_t g_stream[BENCH_FRAMES * FE_NUM_FEATURES];
static fe_state_t g_state;

static void put(const char *s) { board_uart_write((const uint8_t *)s, strlen(s)); }

static void put_u32(uint32_t v)
{
    char buf[11];
    int i = 10;
    buf[i] = 0;
    do {
        buf[--i] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0u);
    put(&buf[i]);
}

static void put_hex(const int8_t *q, uint32_t n)
{
    static const char hex[] = "0123456789abcdef";
    char two[3] = {0, 0, 0};
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t b = (uint8_t)q[i];
        two[0] = hex[b >> 4];
        two[1] = hex[b & 15u];
        put(two);
    }
}

int main(void)
{
    board_init();
    put("fe begin hops=");
    put_u32(BENCH_HOPS);
    put(" frames=");
    put_u32(BENCH_FRAMES);
    put("\n");
    fe_init(&g_state);
    uint32_t frames = 0;
    for (uint32_t h = 0; h < BENCH_HOPS; h++) {
        int8_t *dst = &g_stream[(frames < BENCH_FRAMES ? frames : 0u) * FE_NUM_FEATURES];
        const uint32_t t0 = board_counter();
        const int rc = fe_push_hop(&g_state, &bench_clip[h * FE_HOP_LENGTH], dst);
        const uint32_t dt = board_counter() - t0;
        if (rc < 0) {
            put("fe error push\n");
            return 1;
        }
        frames += rc == FE_FRAME_READY;
        put("hop ");
        put_u32(h);
        put(" ready=");
        put_u32((uint32_t)rc);
        put(" count=");
        put_u32(dt);
        put("\n");
    }
    const uint32_t t0 = board_counter();
    const int rc = fe_extract_int8(bench_clip, BENCH_SAMPLES, g_whole, (uint32_t)sizeof(g_whole));
    const uint32_t dt = board_counter() - t0;
    if (rc != FE_OK) {
        put("fe error extract\n");
        return 1;
    }
    put("whole count=");
    put_u32(dt);
    put(" unit=");
    put(board_counter_unit());
    put("\n");
    put("whole q=");
    put_hex(g_whole, (uint32_t)sizeof(g_whole));
    put("\nstream q=");
    put_hex(g_stream, frames * FE_NUM_FEATURES);
    put("\nfe end\n");
    return 0;
}
"""


def bench_clip(seconds: float, sample_rate: int, wav: str | None = None, seed: int = 0) -> np.ndarray:
    """int16 test audio: a WAV (padded/trimmed) or a deterministic mix of a chirp, a tone burst and noise."""
    n = int(round(seconds * sample_rate))
    if wav is not None:
        from edgekws.audio import load_audio, pad_or_trim

        x = pad_or_trim(load_audio(wav, sample_rate), n)
    else:
        rng = np.random.default_rng(seed)
        t = np.arange(n) / sample_rate
        chirp = 0.3 * np.sin(2 * np.pi * (100 + 1900 * t / max(seconds, 1e-3)) * t)
        burst = 0.4 * np.sin(2 * np.pi * 700 * t) * ((t % 0.5) < 0.15)
        x = chirp + burst + 0.02 * rng.standard_normal(n)
    return np.clip(np.round(np.asarray(x, np.float64) * 32768.0), -32768, 32767).astype(np.int16)


def _clip_source(pcm: np.ndarray, hop: int, frames: int) -> tuple[str, str]:
    header = "\n".join([
        "#ifndef BENCH_CLIP_H", "#define BENCH_CLIP_H", "#include <stdint.h>",
        f"#define BENCH_SAMPLES {pcm.size}u", f"#define BENCH_HOPS {pcm.size // hop}u",
        f"#define BENCH_FRAMES {frames}u",
        "extern const int16_t bench_clip[BENCH_SAMPLES];", "#endif", ""])
    rows = [", ".join(str(int(v)) for v in pcm[i : i + 16]) for i in range(0, pcm.size, 16)]
    source = '#include "bench_clip.h"\nconst int16_t bench_clip[BENCH_SAMPLES] = {\n    ' \
        + ",\n    ".join(rows) + "\n};\n"
    return header, source


def build_bench_elf(cfg, pcm: np.ndarray, work: Path, input_norm=None, scale: float = 0.1,
                    zero_point: int = 0) -> Path:
    """Compile and link the benchmark program for mps2_an500 into ``work/fe_bench.elf``."""
    from edgekws.device.build import build_config
    from edgekws.frontend.ctables import write_frontend_c

    bc = build_config()
    board = bc.BOARDS["mps2_an500"]
    fw = ROOT / "firmware"
    work.mkdir(parents=True, exist_ok=True)
    write_frontend_c(work, cfg, input_norm, scale, zero_point)
    h, c = _clip_source(pcm, cfg.hop_length, cfg.num_frames(pcm.size))
    (work / "bench_clip.h").write_text(h)
    (work / "bench_clip.c").write_text(c)
    (work / "bench_main.c").write_text(MAIN_C)
    sources = [*(fw / "src" / s for s in board.sources), *sorted((fw / "src" / "frontend").glob("*.c")),
               work / "edgekws_frontend_tables.c", work / "bench_clip.c", work / "bench_main.c"]
    defines = [*board.defines, f"EDGEKWS_STACK_SIZE={bc.STACK_SIZE}"]
    elf = work / "fe_bench.elf"
    cmd = ["arm-none-eabi-gcc", *board.cpu_flags, *bc.C_FLAGS, *(f"-D{d}" for d in defines),
           f"-I{fw / 'include'}", f"-I{work}", *map(str, sources), *board.link_flags,
           f"-Wl,--defsym=EDGEKWS_STACK_SIZE={bc.STACK_SIZE}", f"-T{fw / 'src' / board.linker_script}",
           *board.link_libs, "-o", str(elf)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark build failed:\n{proc.stderr[-3000:]}")
    return elf


def parse_output(text: str) -> dict:
    hops = [(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            for m in re.finditer(r"^hop (\d+) ready=(\d+) count=(\d+)$", text, re.M)]
    whole = re.search(r"^whole count=(\d+) unit=(\w+)$", text, re.M)
    wq = re.search(r"^whole q=([0-9a-f]*)$", text, re.M)
    sq = re.search(r"^stream q=([0-9a-f]*)$", text, re.M)
    if not hops or whole is None or wq is None or sq is None or "fe end" not in text:
        raise RuntimeError(f"unexpected benchmark output: {text[-500:]!r}")
    return {
        "hops": hops,
        "whole_count": int(whole.group(1)),
        "unit": whole.group(2),
        "whole_q": np.frombuffer(bytes.fromhex(wq.group(1)), np.int8),
        "stream_q": np.frombuffer(bytes.fromhex(sq.group(1)), np.int8),
    }


def run_benchmark(preset: str = "kws-mfcc-49x10", seconds: float = 1.0, wav: str | None = None,
                  work: Path | None = None, timeout: float = 120.0) -> dict:
    """Build, run in QEMU, check against the twin; returns the figures (and the raw int8 features)."""
    from edgekws.device.emulator import Emulator
    from edgekws.frontend import get_preset
    from edgekws.frontend.device import pcm16_features, quantize_features

    cfg = get_preset(preset)
    pcm = bench_clip(seconds, cfg.sample_rate, wav)
    # a plausible model input: per-coefficient norm from this clip, a scale that spans +-4 std
    feats = pcm16_features(pcm, cfg)
    norm = {"mean": feats.mean(axis=0).tolist(), "std": np.maximum(feats.std(axis=0), 1e-3).tolist()}
    scale, zp = 8.0 / 255.0, 0
    with tempfile.TemporaryDirectory(prefix="fe_bench_") as tmp:
        elf = build_bench_elf(cfg, pcm, Path(work or tmp), norm, scale, zp)
        emu = Emulator(elf, serial="stdio")
        with emu:
            code = emu.wait(timeout)
        if code != 0:
            raise RuntimeError(f"benchmark firmware exited with {code}: {emu.output[-500:]}")
        out = parse_output(emu.output)
    expect = quantize_features(feats, norm["mean"], norm["std"], scale, zp).reshape(-1)
    ready = [c for _h, r, c in out["hops"] if r == 1]
    priming = [c for _h, r, c in out["hops"] if r == 0]
    budget = BUDGET_FRACTION * cfg.hop_length / cfg.sample_rate * CLOCK_HZ
    frames = cfg.num_frames(pcm.size)
    return {
        "preset": preset, "frontend_hash": cfg.hash(), "unit": out["unit"], "clip_samples": int(pcm.size),
        "frames": frames, "hop_ms": cfg.hop_ms,
        "per_hop": {"max": max(ready), "min": min(ready), "mean": round(float(np.mean(ready)), 1),
                    "priming_max": max(priming) if priming else 0, "n": len(ready)},
        "whole_clip": {"total": out["whole_count"], "per_frame": round(out["whole_count"] / frames, 1)},
        "budget_per_hop": int(budget),
        "hop_fraction_at_216mhz": round(max(ready) / (cfg.hop_length / cfg.sample_rate * CLOCK_HZ), 5),
        "within_budget": max(ready) <= budget,
        "matches_twin_whole": bool(np.array_equal(out["whole_q"], expect)),
        "matches_twin_stream": bool(np.array_equal(out["stream_q"], expect[: out["stream_q"].size])),
        "max_lsb_diff_vs_twin": int(np.abs(out["whole_q"].astype(int) - expect.astype(int)).max()),
        "_whole_q": out["whole_q"], "_expect_q": expect, "_pcm": pcm, "_norm": norm, "_scale": scale,
        "_zero_point": zp,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="kws-mfcc-49x10")
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--wav", default=None, help="benchmark on this recording instead of the synthetic clip")
    ap.add_argument("--out", default=str(ROOT / "build" / "bench" / "frontend_device.json"))
    args = ap.parse_args(argv)
    res = run_benchmark(args.preset, args.seconds, args.wav)
    doc = {k: v for k, v in res.items() if not k.startswith("_")}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    os.replace(tmp, out)
    print(json.dumps(doc, indent=2))
    ok = doc["within_budget"] and doc["matches_twin_whole"] and doc["matches_twin_stream"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
