#!/usr/bin/env python3
"""Fuzz the firmware modules that read outside data, or replay the committed corpus.

Why this exists: the device must survive anything on its serial line, and the
host must survive anything a user hands it. The fuzz targets in firmware/fuzz/
reach every firmware module that parses bytes from outside (frame decoder,
each command handler through the server's dispatch, the MLPerf Tiny parser,
the chunked tensor/audio loaders, the device frontend). This tool

* ``run``:    builds each target with ``clang -fsanitize=fuzzer,address,undefined``,
              runs each for a bounded time (``-max_total_time``) starting from the
              committed corpus, and prints executions and findings per target;
* ``replay``: builds the same targets WITHOUT libFuzzer (firmware/fuzz/replay_main.c
              feeds files) under ASan+UBSan with clang or gcc, and runs the committed
              corpus through them; the tests do this in every run;
* ``seed``:   (re)writes the committed seed corpus firmware/fuzz/corpus/ deterministically.

Both write JSON with ``--out``. The code under test is the firmware's own C;
the server targets build it against a small generated model (one fully
connected layer over the default frontend's 49x10 input) plus the frontend
tables, so the audio path (LOAD_AUDIO + INFER from audio) is compiled in.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FW = REPO / "firmware"
FUZZ_DIR = FW / "fuzz"
CORPUS = FUZZ_DIR / "corpus"
DEFAULT_BUILD = REPO / "build" / "fuzz"

WARN = ("-std=c11", "-Wall", "-Wextra", "-Werror")
SAN = ("-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-g", "-O1")
#: Environment for every sanitized run: leaks are findings too; UBSan prints a stack.
SAN_ENV = {"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:symbolize=1",
           "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"}

# Binary protocol command ids (firmware/include/edgekws/protocol.h).
COMMANDS: dict[str, int] = {
    "hello": 0x01, "load_input": 0x02, "load_audio": 0x03, "infer": 0x04, "results": 0x05,
    "memory": 0x06, "selftest": 0x07, "reset": 0x08, "set_mode": 0x09, "layer_info": 0x0A,
    "echo": 0x0B, "read_output": 0x0C, "read_input": 0x0D,
}


@dataclass(frozen=True)
class Target:
    """One fuzz target: its harness, the firmware sources it exercises and its defines."""

    name: str
    module: str  # what outside data it reads, for the report
    harness: str  # file in firmware/fuzz/
    kind: str  # "protocol", "mlperf", "frontend" or "server": which object set it links
    defines: tuple[str, ...] = ()
    max_len: int = 4096


def targets() -> list[Target]:
    """Every fuzz target, in report order."""
    out = [
        Target("frame", "frame decoder: COBS + header + CRC-32 + byte-stream receiver", "fuzz_frame.c", "protocol"),
        Target("mlperf", "MLPerf Tiny text parser + db hex loader + number formatters", "fuzz_mlperf.c", "mlperf"),
        Target("frontend", "device frontend (fe_extract_int8/float, fe_push_hop), arbitrary lengths",
               "fuzz_frontend.c", "frontend", max_len=40000),
        Target("server_stream", "device server app_serve(): raw serial line, both protocols mixed",
               "fuzz_server.c", "server", ("FUZZ_SERVER_STREAM=1",), max_len=8192),
    ]
    for name, cid in COMMANDS.items():
        module = f"command handler {name} (0x{cid:02X}) through dispatch()"
        if name == "load_input":
            module = "chunked tensor loader: " + module
        elif name == "load_audio":
            module = "chunked audio loader: " + module
        out.append(Target(f"server_cmd_{name}", module, "fuzz_server.c", "server", (f"FUZZ_CMD=0x{cid:02X}",),
                          max_len=8192))
    out.append(Target("server_cmd_stream", "streaming commands 0x20..0x2F (STREAM_START/AUDIO/STOP/STATUS, "
                      "firmware/src/stream) through dispatch()", "fuzz_server.c", "server_stream_cmds",
                      ("FUZZ_CMD=0x20", "FUZZ_CMD_STREAM=1", "EDGEKWS_HAS_STREAM=1"), max_len=8192))
    out.append(Target("server_cmd_any", "any command id (unknown, response ids, stream range) through dispatch()",
                      "fuzz_server.c", "server", ("FUZZ_CMD=0", "FUZZ_CMD_ANY=1"), max_len=8192))
    return out


# ---------------------------------------------------------------- generated model + tables

def _c_array(values: Iterable[int]) -> str:
    return ", ".join(str(int(v)) for v in values)


def write_model_c(gen: Path) -> int:
    """Write edgekws_model.{h,c} and the frontend tables for the server targets; returns the input size.

    One FULLY_CONNECTED layer from the default frontend's int8 features to 4 outputs, with two
    self-test vectors whose expected outputs are computed here with TFLite's integer arithmetic,
    so SELFTEST answers 0 mismatches and the fuzzer sees the real success path.
    """
    import numpy as np

    from edgekws.export.quant_math import multiply_by_quantized_multiplier
    from edgekws.frontend.config import FrontendConfig
    from edgekws.frontend.ctables import write_frontend_c

    gen.mkdir(parents=True, exist_ok=True)
    cfg = FrontendConfig(exact="device")
    n_in = cfg.num_frames(cfg.sample_rate) * cfg.num_features
    n_out, mult, shift = 4, 1 << 30, -9
    write_frontend_c(gen, cfg, None, 0.25, -3)
    rng = np.random.default_rng(8)
    w = rng.integers(-128, 128, (n_out, n_in)).astype(np.int64)
    b = rng.integers(-5000, 5000, n_out).astype(np.int64)
    xs = rng.integers(-128, 128, (2, n_in)).astype(np.int64)
    ys = [np.clip([multiply_by_quantized_multiplier(int(a), mult, shift) for a in w @ x + b], -128, 127)
          for x in xs]
    arena = (n_in + 15) // 16 * 16 + 16
    (gen / "edgekws_model.h").write_text(f"""\
/* Generated by tools/fuzz.py: a one-layer model for the fuzz targets. */
#ifndef EDGEKWS_MODEL_H
#define EDGEKWS_MODEL_H
#include <stdint.h>
#include "edgekws/nn.h"
#define EDGEKWS_MODEL_NAME "fuzz_fc"
#define EDGEKWS_BUNDLE_HASH "f0220000f0220000"
#define EDGEKWS_BACKENDS "ref"
#define EDGEKWS_INPUT_SIZE {n_in}u
#define EDGEKWS_OUTPUT_SIZE {n_out}u
#define EDGEKWS_ARENA_SIZE {arena}u
#define EDGEKWS_WEIGHTS_BYTES {n_in * n_out}u
#define EDGEKWS_NUM_LABELS {n_out}u
#define EDGEKWS_SELFTEST_COUNT 2u
extern const nn_model_t edgekws_model;
extern const char *const edgekws_labels[EDGEKWS_NUM_LABELS];
extern const int8_t edgekws_selftest_input[EDGEKWS_SELFTEST_COUNT][EDGEKWS_INPUT_SIZE];
extern const int8_t edgekws_selftest_expected[EDGEKWS_SELFTEST_COUNT][EDGEKWS_OUTPUT_SIZE];
#endif
""")
    (gen / "edgekws_model.c").write_text(f"""\
/* Generated by tools/fuzz.py. */
#include "edgekws_model.h"
static uint8_t arena[EDGEKWS_ARENA_SIZE] __attribute__((aligned(16)));
static const int8_t w[] = {{{_c_array(w.reshape(-1))}}};
static const int32_t b[] = {{{_c_array(b)}}};
static const int32_t mult[] = {{{_c_array([mult] * n_out)}}};
static const int32_t shift[] = {{{_c_array([shift] * n_out)}}};
static const nn_layer_t layers[] = {{{{
    .name = "fc_0", .op_name = "FULLY_CONNECTED", .backend = "ref", .op = NN_OP_FULLY_CONNECTED,
    .in1_offset = 0, .out_offset = {arena - 16},
    .in1_dims = {{1, 1, 1, {n_in}}}, .filter_dims = {{{n_out}, 1, 1, {n_in}}}, .out_dims = {{1, 1, 1, {n_out}}},
    .params.fc = {{0, 0, -128, 127}},
    .weights = w, .bias = b, .quant = {{mult, shift}},
    .kernel.fc = nn_fully_connected_s8_ref,
}}}};
const nn_model_t edgekws_model = {{"fuzz_fc", "f0220000f0220000", arena, EDGEKWS_ARENA_SIZE,
                                   0, {n_in}, {arena - 16}, {n_out}, 1, layers}};
const char *const edgekws_labels[EDGEKWS_NUM_LABELS] = {{"yes", "no", "_silence_", "_unknown_"}};
const int8_t edgekws_selftest_input[EDGEKWS_SELFTEST_COUNT][EDGEKWS_INPUT_SIZE] = {{
    {{{_c_array(xs[0])}}}, {{{_c_array(xs[1])}}}}};
const int8_t edgekws_selftest_expected[EDGEKWS_SELFTEST_COUNT][EDGEKWS_OUTPUT_SIZE] = {{
    {{{_c_array(ys[0])}}}, {{{_c_array(ys[1])}}}}};
""")
    return n_in


# ---------------------------------------------------------------- building

def _sources(kind: str, gen: Path) -> list[Path]:
    """Firmware sources (plus generated C) a target of ``kind`` links, besides its harness."""
    src = FW / "src"
    protocol = sorted((src / "protocol").glob("*.c"))
    frontend = [*sorted((src / "frontend").glob("*.c")), gen / "edgekws_frontend_tables.c"]
    if kind == "protocol":
        return protocol
    if kind == "mlperf":
        return [src / "protocol" / "mlperf.c"]
    if kind == "frontend":
        return frontend
    if kind == "server":
        return [*protocol, *frontend, src / "nn" / "runner.c", src / "nn" / "stream_runner.c",
                *sorted((src / "nn" / "ref").glob("*.c")),
                src / "app" / "selftest.c", gen / "edgekws_model.c", FUZZ_DIR / "fuzz_board.c"]
    if kind == "server_stream_cmds":
        return [*_sources("server", gen), *sorted((src / "stream").glob("*.c"))]
    raise ValueError(f"unknown target kind {kind!r}")


def find_compiler(flavor: str) -> str:
    """clang for both flavors (libFuzzer ships with it); gcc can build the replay flavor."""
    clang = shutil.which("clang")
    if clang:
        return clang
    if flavor == "replay" and shutil.which("gcc"):
        return str(shutil.which("gcc"))
    raise SystemExit("error: clang is not installed (apt-get install clang)")


def _run_cc(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"build failed: {' '.join(cmd[-4:])}\n{proc.stderr[-4000:]}")


@dataclass
class Build:
    """Binaries of one flavor ("fuzz": libFuzzer driver, "replay": replay_main.c)."""

    flavor: str
    out: Path
    binaries: dict[str, Path] = field(default_factory=dict)


def build(flavor: str, out: Path, only: list[str] | None = None, progress: Callable[[str], None] | None = None) -> Build:
    """Compile the shared firmware objects once, then each target's harness, and link.

    Cached by content: an output directory keyed on a hash of every source and flag is reused.
    """
    cc = find_compiler(flavor)
    sel = [t for t in targets() if only is None or t.name in only]
    unknown = set(only or []) - {t.name for t in targets()}
    if unknown:
        raise SystemExit(f"error: unknown fuzz target(s): {', '.join(sorted(unknown))}")
    san = ("-fsanitize=fuzzer-no-link,address,undefined", *SAN[1:]) if flavor == "fuzz" else SAN
    link_san = ("-fsanitize=fuzzer,address,undefined",) if flavor == "fuzz" else ("-fsanitize=address,undefined",)
    with tempfile.TemporaryDirectory() as tmp:
        gen_tmp = Path(tmp) / "gen"
        write_model_c(gen_tmp)
        digest = hashlib.sha256(" ".join([cc, *san, *WARN, flavor]).encode())
        for p in [*sorted(FW.glob("src/**/*.[ch]")), *sorted(FW.glob("include/**/*.h")), *sorted(FUZZ_DIR.glob("*.[ch]")),
                  *sorted(gen_tmp.iterdir()), Path(__file__)]:
            digest.update(p.name.encode() + p.read_bytes())
        key = digest.hexdigest()[:16]
        bdir = out / f"{flavor}-{key}"
        gen = bdir / "gen"
        if not (gen / "edgekws_model.c").is_file():
            shutil.rmtree(bdir, ignore_errors=True)
            shutil.copytree(gen_tmp, gen)
    inc = ["-I", str(FW / "include"), "-I", str(gen)]
    objdir = bdir / "obj"
    objdir.mkdir(parents=True, exist_ok=True)
    result = Build(flavor, bdir)
    objects: dict[Path, Path] = {}

    def obj_for(src: Path) -> Path:
        if src not in objects:
            rel = src.relative_to(REPO) if src.is_relative_to(REPO) else Path(src.name)
            obj = objdir / (str(rel).replace("/", "_") + ".o")
            if not obj.is_file():
                if progress:
                    progress(f"cc {src.name}")
                # the streaming app compiles to nothing unless asked for (only its target links it)
                extra_def = ["-DEDGEKWS_HAS_STREAM=1"] if src.parent.name == "stream" else []
                _run_cc([cc, *san, *WARN, *inc, *extra_def, "-c", str(src), "-o", str(obj)])
            objects[src] = obj
        return objects[src]

    replay_obj = None
    if flavor == "replay":
        replay_obj = objdir / "replay_main.o"
        if not replay_obj.is_file():
            # replay_main uses POSIX scandir(); its own TU, not -std=c11 strict about that.
            _run_cc([cc, *san, "-Wall", "-Wextra", "-Werror", "-c", str(FUZZ_DIR / "replay_main.c"),
                     "-o", str(replay_obj)])
    for t in sel:
        exe = bdir / t.name
        if not exe.is_file():
            if progress:
                progress(f"link {t.name}")
            objs = [obj_for(s) for s in _sources(t.kind, gen)]
            harness_obj = objdir / f"harness_{t.name}.o"
            _run_cc([cc, *san, *WARN, *inc, *[f"-D{d}" for d in t.defines], "-c", str(FUZZ_DIR / t.harness),
                     "-o", str(harness_obj)])
            extra = [str(replay_obj)] if replay_obj else []
            _run_cc([cc, *link_san, *map(str, objs), str(harness_obj), *extra, "-lm", "-o", str(exe)])
        result.binaries[t.name] = exe
    return result


# ---------------------------------------------------------------- running

@dataclass
class FuzzResult:
    """Outcome of one bounded libFuzzer run."""

    target: str
    module: str
    seconds: float
    executions: int
    findings: int
    artifacts: list[str]
    corpus_in: int
    corpus_out: int
    coverage: int
    exec_per_s: float
    tail: str = ""


def _corpus_files(target: str, crashes: bool = False) -> list[Path]:
    d = CORPUS / target
    if not d.is_dir():
        return []
    files = sorted(p for p in d.iterdir() if p.is_file())
    return [p for p in files if p.name.startswith("crash-") == crashes]


def run_target(exe: Path, t: Target, seconds: int, work: Path) -> FuzzResult:
    """Run one target for ``seconds`` from a copy of its committed corpus; never changes the committed corpus."""
    corpus = work / "corpus" / t.name
    artifacts = work / "artifacts" / t.name
    shutil.rmtree(artifacts, ignore_errors=True)
    corpus.mkdir(parents=True, exist_ok=True)
    artifacts.mkdir(parents=True, exist_ok=True)
    seeds = _corpus_files(t.name)
    for p in seeds:
        shutil.copy(p, corpus / p.name)
    cmd = [str(exe), f"-max_total_time={seconds}", f"-max_len={t.max_len}", "-timeout=10",
           # no RSS limit: the peak RSS it reads survives execve, so a big parent (a pytest worker holding
           # TensorFlow) tripped it at once; single allocations stay limited
           "-rss_limit_mb=0", "-malloc_limit_mb=2048",
           "-print_final_stats=1", f"-artifact_prefix={artifacts}/", "-close_fd_mask=1", str(corpus)]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, **SAN_ENV),
                          timeout=seconds + 120)
    elapsed = time.monotonic() - t0
    log = proc.stderr
    m = re.search(r"stat::number_of_executed_units:\s*(\d+)", log) or re.search(r"Done (\d+) runs", log)
    execs = int(m.group(1)) if m else 0
    cov = re.findall(r"cov: (\d+)", log)
    found = sorted(p.name for p in artifacts.iterdir())
    if proc.returncode != 0 and not found:
        found = [f"exit-{proc.returncode}"]
    return FuzzResult(t.name, t.module, round(elapsed, 1), execs, len(found), found, len(seeds),
                      sum(1 for _ in corpus.iterdir()), int(cov[-1]) if cov else 0,
                      round(execs / max(elapsed, 1e-9), 1), log[-3000:] if found else "")


@dataclass
class ReplayResult:
    """Outcome of replaying one target's committed corpus through the replay build."""

    target: str
    inputs: int
    ok: bool
    known_crashes: dict[str, bool]  # crash-* file -> still crashes
    tail: str = ""


def replay_target(exe: Path, target: str) -> ReplayResult:
    """Replay the committed corpus (crash-* files each on their own) through one target."""
    files = _corpus_files(target)
    env = dict(os.environ, **SAN_ENV)
    ok, tail, n = True, "", 0
    if files:
        proc = subprocess.run([str(exe), *map(str, files)], capture_output=True, text=True, env=env, timeout=300)
        m = re.search(r"replayed (\d+) inputs", proc.stdout)
        n = int(m.group(1)) if m else 0
        ok = proc.returncode == 0 and n == len(files)
        tail = "" if ok else proc.stderr[-4000:]
    known = {}
    for p in _corpus_files(target, crashes=True):
        proc = subprocess.run([str(exe), str(p)], capture_output=True, text=True, env=env, timeout=300)
        known[p.name] = proc.returncode != 0
    return ReplayResult(target, n, ok, known, tail)


# ---------------------------------------------------------------- seed corpus

def _frame(cmd: int, seq: int, payload: bytes = b"") -> bytes:
    from edgekws.device import protocol as P

    return P.encode_frame(cmd, seq, payload)


def _rec(sel: int, payload: bytes = b"") -> bytes:
    """One record of the server_cmd_* input format: sel u8 | len u16 LE | payload."""
    return bytes([sel]) + struct.pack("<H", len(payload)) + payload


SETUP = {"load_input": 0xF0, "load_audio": 0xF1, "infer": 0xF2, "results": 0xF3, "read_output": 0xF4,
         "read_input": 0xF5, "set_mode": 0xF6, "hello": 0xF7, "memory": 0xF8, "layer_info": 0xF9}


def seed_corpus(n_in: int = 490, n_audio: int = 16000) -> dict[str, dict[str, bytes]]:
    """The committed seed inputs per target: valid requests plus the interesting broken ones."""
    from edgekws.device import protocol as P

    seeds: dict[str, dict[str, bytes]] = {}
    hello = _frame(0x01, 1)
    raw = P.frame_raw(0x02, 7, struct.pack("<I", 0) + bytes(range(64)))
    bad_crc = bytearray(raw)
    bad_crc[-1] ^= 0xFF
    seeds["frame"] = {
        "hello": hello,
        "load_input": _frame(0x02, 2, struct.pack("<I", 0) + bytes(range(200))),
        "bad_crc": b"\x00" + P.cobs_encode(bytes(bad_crc)) + b"\x00",
        "truncated": hello[: len(hello) // 2] + b"\x00",
        "oversized_len": b"\x00" + P.cobs_encode(bytes([1, 2, 0, 0, 0xFF, 0xFF]) + bytes(8)) + b"\x00",
        "bad_version": b"\x00" + P.cobs_encode(P.frame_raw(0x01, 3, b"", version=9)) + b"\x00",
        "garbage_then_frame": bytes(range(1, 256)) * 6 + hello,
        "max_payload": _frame(0x0B, 4, bytes(range(256)) * 4),
        "delimiters": b"\x00" * 16,
        "bad_cobs": b"\x00\x05\x01\x02\x00",
    }
    hexline = ("db " + bytes(range(256)).hex()[: 2 * 245] + "%").encode()
    seeds["mlperf"] = {
        "session": (b"name%profile%db load 490%" + hexline + hexline + b"infer 10 1%results%timestamp%"),
        "odd_hex": b"db load 4%db 0a1%",
        "non_hex": b"db load 4%db zz11%",
        "hex_before_load": b"db 00112233%",
        "db_load_zero_and_huge": b"db load 0%db load 4294967295%db load 99999999999999%",
        "db_print": b"db load 8%db 0011223344556677%db print 8 4%db print 4294967295 4294967295%",
        "long_line": b"db " + b"a" * 3000 + b"%name%",
        "unknown_and_help": b"frobnicate 1 2 3%help%edgekws%%%",
        "infer_args": b"infer%infer 1%infer -1 x%infer 4294967295 4294967295 7%",
        "crlf_spaces": b"\r\n  name  %\r\n\tprofile\t%",
    }
    pcm = (struct.pack("<" + "h" * 2000, *[(i * 37 % 2000 - 1000) * 16 for i in range(2000)]))
    full = bytes(n_audio * 2)
    seeds["frontend"] = {
        "exact_clip": struct.pack("<I", 0) + b"\x03" + (pcm * 8)[: n_audio * 2],
        "silence_clip": struct.pack("<I", 0) + b"\x01" + full,
        "short_clip": struct.pack("<I", 10) + b"\x01" + pcm[:1200],
        "wrong_out_len": struct.pack("<I", 489) + b"\x00" + (pcm * 8)[: n_audio * 2],
        "huge_out_len": struct.pack("<I", 0xFFFFFFFF) + b"\x02" + pcm,
        "empty": struct.pack("<I", 0) + b"\x01",
        "full_scale": struct.pack("<I", 0) + b"\x03" + struct.pack("<hh", 32767, -32768) * 4000,
    }
    load = _frame(0x02, 10, struct.pack("<I", 0) + bytes(n_in))
    seeds["server_stream"] = {
        "hello": hello,
        "load_infer_results": load + _frame(0x04, 11, b"\x00\x00\x01\x00") + _frame(0x05, 12),
        "mlperf_escape": b"name%profile%db load 490%" + hexline + hexline + b"infer 1 0%results%edgekws%" + hello,
        "set_mode_mlperf": _frame(0x09, 5, b"\x01") + b"name%db load 2%db 0102%edgekws%" + hello,
        "garbage_mix": bytes(range(256)) * 3 + hello + b"na" + b"\xff" * 40 + b"\x00" + hello,
        "reset": _frame(0x08, 6),
        "audio_path": _frame(0x03, 20, struct.pack("<I", 0) + bytes(1000)) + _frame(0x04, 21, b"\x01\x00\x01\x00"),
        "oversized": b"\x00" + b"\x01" * 3000 + b"\x00" + hello,
    }
    per_cmd: dict[str, list[bytes]] = {
        "hello": [b"", b"extra"],
        "load_input": [struct.pack("<I", 0) + bytes(range(200)), struct.pack("<I", n_in - 4) + b"abcdefgh",
                       struct.pack("<I", 0xFFFFFFFF) + b"x", b"\x01\x02"],
        "load_audio": [struct.pack("<I", 0) + bytes(1000), struct.pack("<I", n_audio - 2) + bytes(8),
                       struct.pack("<I", 0) + b"odd", struct.pack("<I", 0xFFFFFFF0) + bytes(4)],
        "infer": [b"", b"\x00\x00\x02\x00", b"\x01\x00\x01\x00", b"\x00\x00", b"\x00\x00\x00\x00"],
        "results": [b""],
        "memory": [b""],
        "selftest": [b""],
        "reset": [b""],
        "set_mode": [b"\x01", b"\x00", b"\x07", b""],
        "layer_info": [b"\x00\x00", b"\x05\x00", b"\x00", b"\x00\x00\x00"],
        "echo": [b"", bytes(range(256)) * 4],
        "read_output": [struct.pack("<IH", 0, 4), struct.pack("<IH", 3, 4), struct.pack("<IH", 0xFFFFFFFF, 1), b"\x00"],
        "read_input": [struct.pack("<IH", 0, 490), struct.pack("<IH", 400, 200), struct.pack("<IH", 0, 0), b""],
    }
    setup = (_rec(SETUP["load_input"], struct.pack("<I", 0) + bytes(range(256)) + bytes(n_in - 256))
             + _rec(SETUP["load_audio"], struct.pack("<I", 0) + bytes(800)) + _rec(SETUP["infer"], b"\x00\x00\x01\x00"))
    for name, payloads in per_cmd.items():
        seeds[f"server_cmd_{name}"] = {
            "valid": _rec(0, payloads[0]),
            "after_setup": setup + _rec(0, payloads[0]),
            "all_variants": b"".join(_rec(0, p) for p in payloads),
            "mlperf_mode": _rec(SETUP["set_mode"], b"\x01") + b"".join(_rec(0, p) for p in payloads[:2]),
        }
    cfg = struct.pack("<HHHHHHHHIiIIiH", 1, 49, 10, 4, 1, 3, 320, 640, 16000, 100, 10, 0b1100, -128, 0)
    tone = struct.pack("<" + "h" * 512, *[int(8000 * ((i * 7) % 64 - 32) / 32) for i in range(512)])
    start, audio, stop, status = 0, 1, 2, 3  # sel & 0x0F -> 0x20 + n
    seeds["server_cmd_stream"] = {
        "session": (_rec(start, cfg + b"\x01") + b"".join(_rec(audio, tone) for _ in range(40)) + _rec(status)
                    + _rec(stop) + _rec(audio, tone[:64])),
        "bad_config": _rec(start, cfg[:-1]) + _rec(start, b"\x09" + cfg[1:]) + _rec(start, cfg + b"\x01\x02"),
        "audio_before_start": _rec(audio, tone) + _rec(status, b"x"),
        "odd_audio": _rec(start, cfg) + _rec(audio, b"abc") + _rec(audio, b"") + _rec(0x0F, b"?"),
    }
    seeds["server_cmd_any"] = {
        "all_known": b"".join(_rec(c, b"") for c in [1, 5, 6, 7, 9, 10, 11, 12, 13]),
        "unknown": _rec(0x5E, b"abc") + _rec(0x00, b"") + _rec(0x6F, b""),
        "response_id": _rec(0x81, b"") + _rec(0xEF, b"zz"),
        "stream_range": _rec(0x20, b"\x00\x01") + _rec(0x2F, b""),
    }
    return seeds


def write_seed_corpus(root: Path = CORPUS) -> int:
    """Rewrite every target's seed files (crash-* files and extra files are left alone); returns the count."""
    n = 0
    for target, files in seed_corpus().items():
        d = root / target
        d.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (d / f"seed-{name}").write_bytes(data)
            n += 1
    return n


def grow_corpus(build_dir: Path, per_target: int, only: list[str] | None = None) -> dict[str, list[str]]:
    """Commit up to ``per_target`` inputs a previous ``run`` found that add coverage beyond the committed corpus.

    libFuzzer's ``-merge=1`` copies into a scratch copy of the committed corpus only the inputs of the
    working corpus (build_dir/work/corpus/<target>) that add coverage; the smallest of those are
    committed as ``found-<sha1>``. Keeps the whole corpus under 200 files.
    """
    b = build("fuzz", build_dir, only)
    added: dict[str, list[str]] = {}
    for t in targets():
        if t.name not in b.binaries:
            continue
        work = build_dir / "work" / "corpus" / t.name
        if not work.is_dir():
            continue
        with tempfile.TemporaryDirectory() as tmp:
            scratch = Path(tmp) / "c"
            shutil.copytree(CORPUS / t.name, scratch)
            before = {p.name for p in scratch.iterdir()}
            subprocess.run([str(b.binaries[t.name]), "-merge=1", f"-max_len={t.max_len}", str(scratch), str(work)],
                           capture_output=True, text=True, env=dict(os.environ, **SAN_ENV), timeout=600)
            new = sorted((p for p in scratch.iterdir() if p.name not in before), key=lambda p: p.stat().st_size)
            added[t.name] = []
            for p in new[:per_target]:
                data = p.read_bytes()
                name = f"found-{hashlib.sha1(data).hexdigest()[:12]}"
                (CORPUS / t.name / name).write_bytes(data)
                added[t.name].append(name)
    total = sum(1 for _ in CORPUS.glob("*/*"))
    if total >= 200:
        raise RuntimeError(f"the committed corpus has {total} files; keep it under 200 (delete some found-*)")
    return added


# ---------------------------------------------------------------- CLI

def _table(title: str, header: list[str], rows: list[list[str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for h in header:
        table.add_column(h, justify="right" if h not in ("target", "module") else "left")
    for r in rows:
        table.add_row(*r)
    Console(stderr=False).print(table)


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def cmd_run(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    sel = [t for t in targets() if not args.targets or t.name in args.targets]
    with Progress(transient=True, disable=args.no_progress) as bar:
        task = bar.add_task("building fuzz targets", total=None)
        b = build("fuzz", args.build_dir, [t.name for t in sel], lambda s: bar.update(task, description=s))
        bar.remove_task(task)
        task = bar.add_task("fuzzing", total=len(sel))
        results = []
        for t in sel:
            bar.update(task, description=f"fuzzing {t.name} ({args.time} s)")
            results.append(run_target(b.binaries[t.name], t, args.time, args.build_dir / "work"))
            bar.advance(task)
    data = {"mode": "fuzz", "seconds_per_target": args.time, "compiler": find_compiler("fuzz"),
            "targets": {r.target: asdict(r) for r in results},
            "total_executions": sum(r.executions for r in results),
            "total_findings": sum(r.findings for r in results)}
    _table(f"fuzz: {args.time} s per target", ["target", "executions", "exec/s", "cov", "corpus", "findings"],
           [[r.target, str(r.executions), f"{r.exec_per_s:.0f}", str(r.coverage), f"{r.corpus_in}->{r.corpus_out}",
             str(r.findings) + (f" {r.artifacts}" if r.artifacts else "")] for r in results])
    print(f"total: {data['total_executions']} executions, {data['total_findings']} findings")
    if args.out:
        _write_json(args.out, data)
    return 1 if data["total_findings"] else 0


def cmd_replay(args: argparse.Namespace) -> int:
    sel = [t for t in targets() if not args.targets or t.name in args.targets]
    b = build("replay", args.build_dir, [t.name for t in sel])
    results = [replay_target(b.binaries[t.name], t.name) for t in sel]
    data = {"mode": "replay", "compiler": find_compiler("replay"),
            "targets": {r.target: asdict(r) for r in results},
            "total_inputs": sum(r.inputs for r in results), "all_ok": all(r.ok for r in results)}
    _table("corpus replay (ASan+UBSan, no libFuzzer)", ["target", "inputs", "clean", "known crashes"],
           [[r.target, str(r.inputs), "yes" if r.ok else "NO",
             ", ".join(f"{k}:{'crashes' if v else 'fixed'}" for k, v in r.known_crashes.items())] for r in results])
    for r in results:
        if not r.ok:
            print(f"--- {r.target}\n{r.tail}", file=sys.stderr)
    if args.out:
        _write_json(args.out, data)
    return 0 if data["all_ok"] else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], prog="tools/fuzz.py")
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("run", "replay"):
        p = sub.add_parser(name)
        p.add_argument("--targets", nargs="*", help="target names (default: all)")
        p.add_argument("--build-dir", type=Path, default=DEFAULT_BUILD)
        p.add_argument("--out", type=Path, help="write the results as JSON here")
        if name == "run":
            p.add_argument("--time", type=int, default=10, help="seconds per target (-max_total_time)")
            p.add_argument("--no-progress", action="store_true")
    sub.add_parser("seed", help="rewrite the committed seed corpus")
    g = sub.add_parser("grow", help="commit coverage-adding inputs from the last run's working corpus")
    g.add_argument("--per-target", type=int, default=5)
    g.add_argument("--build-dir", type=Path, default=DEFAULT_BUILD)
    g.add_argument("--targets", nargs="*")
    sub.add_parser("list", help="list the targets")
    args = ap.parse_args(argv)
    if args.cmd == "seed":
        print(f"wrote {write_seed_corpus()} seed files under {CORPUS.relative_to(REPO)}")
        return 0
    if args.cmd == "grow":
        added = grow_corpus(args.build_dir, args.per_target, args.targets or None)
        print(f"added {sum(map(len, added.values()))} inputs: " + ", ".join(f"{k}+{len(v)}" for k, v in added.items()))
        return 0
    if args.cmd == "list":
        for t in targets():
            print(f"{t.name:24s} {t.module}")
        return 0
    try:
        return cmd_run(args) if args.cmd == "run" else cmd_replay(args)
    except RuntimeError as exc:
        print(f"error: {str(exc).splitlines()[0]}", file=sys.stderr)
        print(str(exc), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
