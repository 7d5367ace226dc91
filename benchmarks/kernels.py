"""Instructions per kernel and backend on the emulated Cortex-M7, for the DS-CNN-S layer shapes.

Why a kernel-level benchmark beside the whole-model self-test: it isolates each
kernel on the exact layer shapes of DS-CNN-S (conv 64 10x4 /2 on 49x10x1,
depthwise 3x3 on 25x5x64, pointwise 64->64 on 25x5, FC 64->12), at several
sparsity levels and patterns, so MACs per instruction can be read per backend
and compared with the targets of the fast-kernels issue. Weights come from the
exporter's registry (edgekws.export.kernels), the program checks every backend
against ref on the device, and QEMU's -icount makes the counts exact and
repeatable (they are instructions, not cycles).

    .venv/bin/python benchmarks/kernels.py [--out benchmarks/kernels/results.json] [--quick]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "host"))

from edgekws.errors import FirmwareError  # noqa: E402
from edgekws.export import kernels  # noqa: E402

FIRMWARE = REPO / "firmware"
BENCH_DIR = Path(__file__).resolve().parent / "kernels"
ARM_FLAGS = ("-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-d16", "-mfloat-abi=hard", "-std=c11", "-O2", "-Wall",
             "-Wextra", "-Werror", "-ffunction-sections", "-fdata-sections")

from edgekws.device.build import icount_shift  # noqa: E402

ICOUNT_SHIFT = icount_shift("mps2_an500")  # the mps2_an500 build's EDGEKWS_ICOUNT_SHIFT (exact counts)


@dataclass
class LayerCase:
    """One layer shape with concrete random weights (TFLite layouts) and quantization."""

    name: str
    op: str
    in_dims: tuple[int, int, int, int]
    filter_dims: tuple[int, int, int, int]
    out_dims: tuple[int, int, int, int]
    params: dict[str, Any]
    weights: np.ndarray
    bias: np.ndarray
    multiplier: np.ndarray
    shift: np.ndarray
    x: np.ndarray
    backends: tuple[str, ...]
    reps: int = 1
    meta: dict[str, Any] = field(default_factory=dict)

    def layer(self) -> kernels.KernelLayer:
        return kernels.KernelLayer(self.op, self.in_dims, self.filter_dims, self.out_dims, self.params, self.weights,
                                   self.bias, self.multiplier, self.shift)

    @property
    def macs(self) -> int:
        """Dense MACs of the layer (what TFLite counts), padding taps included."""
        n, oh, ow, oc = self.out_dims
        _, kh, kw, c = self.filter_dims
        if self.op == "DEPTHWISE_CONV_2D":
            return n * oh * ow * oc * kh * kw
        if self.op == "FULLY_CONNECTED":
            return n * oc * c
        return n * oh * ow * oc * kh * kw * c


def _same(n: int, k: int, s: int) -> tuple[int, int]:
    out = (n + s - 1) // s
    return out, max((out - 1) * s + k - n, 0) // 2


def _quant(rng: np.random.Generator, n: int, taps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    acc_std = math.sqrt(taps) * 127 * 60
    mult = np.zeros(n, np.int32)
    shift = np.zeros(n, np.int32)
    for i in range(n):
        q, e = math.frexp(50.0 / acc_std * float(rng.uniform(0.5, 2.0)))
        mult[i], shift[i] = min(int(round(q * 2**31)), 2**31 - 1), e
    bias = rng.integers(-int(acc_std), int(acc_std), n).astype(np.int32)
    return bias, mult, shift


def _sparsify(rng: np.random.Generator, rows: np.ndarray, pattern: str | None, level: float) -> np.ndarray:
    rows = rows.copy()
    if pattern == "element":
        # exactly `level` of each row's weights: the lowest-|w| positions of a random score, as magnitude pruning
        k = rows.shape[1]
        n_zero = int(round(level * k))
        for r in rows:
            r[np.argsort(rng.random(k))[:n_zero]] = 0
    elif pattern == "block":
        nb = (rows.shape[1] + 3) // 4
        n_zero = int(round(level * nb))
        for r in rows:
            for b in np.argsort(rng.random(nb))[:n_zero]:
                r[4 * b:4 * b + 4] = 0
    return rows


def ds_cnn_s_cases(seed: int = 0, quick: bool = False) -> list[LayerCase]:
    """The DS-CNN-S layer shapes, dense and at the study's sparsity patterns."""
    rng = np.random.default_rng(seed)
    cases: list[LayerCase] = []
    dense = ("ref", "simd")
    sparse = ("ref", "simd", "skipzero", "wp", "block")

    def _relu_as_tflite(params: dict[str, Any]) -> None:
        """A fused ReLU as TFLite quantizes DS-CNN's: the output's zero point is -128, so the floor is the int8
        minimum (the kernels' no-extra-clamp path, which the model's layers take). The drawn offset is replaced,
        not skipped, so every later draw keeps its value."""
        params["output_offset"] = -128
        params["act_min"] = -128

    def conv(name: str, in_hwc: tuple[int, int, int], out_c: int, k: tuple[int, int], s: tuple[int, int],
             backends: tuple[str, ...], pattern: str | None = None, level: float = 0.0) -> None:
        h, w, c = in_hwc
        oh, ph = _same(h, k[0], s[0])
        ow, pw = _same(w, k[1], s[1])
        rows = _sparsify(rng, rng.integers(-127, 128, (out_c, k[0] * k[1] * c)).astype(np.int8), pattern, level)
        bias, mult, shift = _quant(rng, out_c, k[0] * k[1] * c)
        params = dict(input_offset=int(rng.integers(-20, 20)), output_offset=int(rng.integers(-20, 20)),
                      stride=s, padding=(ph, pw), dilation=(1, 1), depth_multiplier=1, act_min=-128, act_max=127)
        if name.startswith("conv") or name.startswith("pw"):
            _relu_as_tflite(params)
        cases.append(LayerCase(name, "CONV_2D", (1, h, w, c), (out_c, k[0], k[1], c), (1, oh, ow, out_c), params,
                               rows.reshape(out_c, k[0], k[1], c), bias, mult, shift,
                               rng.integers(-128, 128, h * w * c).astype(np.int8), backends,
                               meta={"pattern": pattern or "dense", "sparsity": level}))

    def dw(name: str, backends: tuple[str, ...], pattern: str | None = None, level: float = 0.0) -> None:
        h, w, c = 25, 5, 64
        wt = rng.integers(-127, 128, (1, 3, 3, c)).astype(np.int8)
        if pattern:
            wt[rng.random(wt.shape) < level] = 0
        bias, mult, shift = _quant(rng, c, 9)
        params = dict(input_offset=int(rng.integers(-20, 20)), output_offset=int(rng.integers(-20, 20)),
                      stride=(1, 1), padding=(1, 1), dilation=(1, 1), depth_multiplier=1, act_min=-128, act_max=127)
        _relu_as_tflite(params)
        cases.append(LayerCase(name, "DEPTHWISE_CONV_2D", (1, h, w, c), (1, 3, 3, c), (1, h, w, c), params, wt, bias,
                               mult, shift, rng.integers(-128, 128, h * w * c).astype(np.int8), backends,
                               meta={"pattern": pattern or "dense", "sparsity": level}))

    def fc(name: str, backends: tuple[str, ...], pattern: str | None = None, level: float = 0.0) -> None:
        rows = _sparsify(rng, rng.integers(-127, 128, (12, 64)).astype(np.int8), pattern, level)
        bias, mult, shift = _quant(rng, 12, 64)
        params = dict(input_offset=int(rng.integers(-20, 20)), output_offset=int(rng.integers(-20, 20)),
                      act_min=-128, act_max=127)
        cases.append(LayerCase(name, "FULLY_CONNECTED", (1, 1, 1, 64), (12, 1, 1, 64), (1, 1, 1, 12), params, rows,
                               bias, mult, shift, rng.integers(-128, 128, 64).astype(np.int8), backends, reps=16,
                               meta={"pattern": pattern or "dense", "sparsity": level}))

    conv("conv1", (49, 10, 1), 64, (10, 4), (2, 2), dense)
    dw("dw", ("ref", "simd", "skipzero", "wp"))
    conv("pw", (25, 5, 64), 64, (1, 1), (1, 1), dense)
    fc("fc", dense)
    levels = (0.8,) if quick else (0.5, 0.8, 0.9)
    for level in levels:
        tag = int(round(level * 100))
        for pattern in ("element", "block"):
            conv(f"pw_{pattern}{tag}", (25, 5, 64), 64, (1, 1), (1, 1), sparse, pattern, level)
            if level == 0.8:
                conv(f"conv1_{pattern}{tag}", (49, 10, 1), 64, (10, 4), (2, 2), sparse, pattern, level)
                fc(f"fc_{pattern}{tag}", sparse, pattern, level)
    dw("dw_element80", ("ref", "simd", "skipzero", "wp"), "element", 0.8)
    return cases


def random_cases(seed: int, n: int) -> list[LayerCase]:
    """Small random layers (shapes, strides, paddings, offsets, activations, sparsity) for on-device checks."""
    rng = np.random.default_rng(seed)
    cases: list[LayerCase] = []
    for i in range(n):
        op = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")[i % 3]
        pattern = (None, "element", "block")[int(rng.integers(3))]
        level = float(rng.choice([0.5, 0.8, 0.95]))
        acts = [(-128, 127), (int(rng.integers(-20, 20)), 127), (-100, 90), (-128, 127)]
        act_pick = int(rng.integers(4))
        act_min, act_max = acts[act_pick]
        if op == "FULLY_CONNECTED":
            depth, units, batches = int(rng.integers(1, 70)), int(rng.integers(1, 20)), int(rng.choice([1, 2, 5]))
            rows = _sparsify(rng, rng.integers(-127, 128, (units, depth)).astype(np.int8), pattern, level)
            bias, mult, shift = _quant(rng, units, depth)
            params = dict(input_offset=int(rng.integers(-128, 128)), output_offset=int(rng.integers(-128, 128)),
                          act_min=act_min, act_max=act_max)
            cases.append(LayerCase(f"r{i}", op, (batches, 1, 1, depth), (units, 1, 1, depth), (batches, 1, 1, units),
                                   params, rows, bias, mult, shift,
                                   rng.integers(-128, 128, batches * depth).astype(np.int8), kernels.BACKENDS))
            continue
        h, w, c = int(rng.integers(1, 11)), int(rng.integers(1, 11)), int(rng.integers(1, 20))
        kh, kw = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        sh, sw = int(rng.integers(1, 3)), int(rng.integers(1, 3))
        if op == "DEPTHWISE_CONV_2D" and i % 2:  # DS-CNN's 3x3 / stride 1 / same on 4k channels (simd's 3x3 path)
            kh = kw = 3
            sh = sw = 1
            c = 4 * int(rng.integers(1, 5))
        oh, ph = _same(h, kh, sh)
        ow, pw = _same(w, kw, sw)
        params = dict(input_offset=int(rng.integers(-128, 128)), output_offset=int(rng.integers(-128, 128)),
                      stride=(sh, sw), padding=(ph, pw), dilation=(1, 1), depth_multiplier=1, act_min=act_min,
                      act_max=act_max)
        if act_pick == 3:  # fused ReLU with the usual int8 zero point -128: the simd kernels' fastest path
            params["output_offset"] = -128
        x = rng.integers(-128, 128, h * w * c).astype(np.int8)
        if op == "DEPTHWISE_CONV_2D":
            wt = rng.integers(-127, 128, (1, kh, kw, c)).astype(np.int8)
            if pattern:
                wt[rng.random(wt.shape) < level] = 0
            bias, mult, shift = _quant(rng, c, kh * kw)
            cases.append(LayerCase(f"r{i}", op, (1, h, w, c), (1, kh, kw, c), (1, oh, ow, c), params, wt, bias, mult,
                                   shift, x, kernels.BACKENDS))
        else:
            oc = int(rng.integers(1, 20))
            rows = _sparsify(rng, rng.integers(-127, 128, (oc, kh * kw * c)).astype(np.int8), pattern, level)
            bias, mult, shift = _quant(rng, oc, kh * kw * c)
            cases.append(LayerCase(f"r{i}", op, (1, h, w, c), (oc, kh, kw, c), (1, oh, ow, oc), params,
                                   rows.reshape(oc, kh, kw, c), bias, mult, shift, x, kernels.BACKENDS))
    return cases


def device_check(cases: list[LayerCase], work: Path) -> dict[str, Any]:
    """Run every eligible backend of ``cases`` in the emulator; {"entries", "fails", "rows"} (fails: != ref or rc)."""
    header, entries = generate_header(cases)
    elf = build(work, header)
    code, text = run(elf)
    rows = parse(text, entries)
    fails = sum(1 for r in rows if not r["match"] or r["rc"] != 0)
    return {"entries": len(rows), "fails": fails, "exit_code": code, "rows": rows}


# ----------------------------------------------------------------------------- C generation


def _arr(ctype: str, name: str, values: np.ndarray) -> str:
    vals = ", ".join(str(int(v)) for v in np.asarray(values).reshape(-1))
    return f"static const {ctype} {name}[{max(values.size, 1)}] __attribute__((aligned(4))) = {{{vals or '0'}}};"


def generate_header(cases: list[LayerCase]) -> tuple[str, list[dict[str, Any]]]:
    """bench_data.h text and the entry list it encodes (same order as the program's output)."""
    lines = ["/* generated by benchmarks/kernels.py - do not edit */", "#pragma once", ""]
    entries: list[dict[str, Any]] = []
    table: list[str] = []
    max_scratch = 4
    max_out = 4
    for ci, case in enumerate(cases):
        ident = f"c{ci}"
        lines += [_arr("int8_t", f"{ident}_x", case.x), _arr("int32_t", f"{ident}_bias", case.bias),
                  _arr("int32_t", f"{ident}_mult", case.multiplier), _arr("int32_t", f"{ident}_shift", case.shift)]
        out_size = int(np.prod(case.out_dims))
        max_out = max(max_out, out_size)
        eligible = kernels.eligible_backends(case.layer())
        runs = []
        for backend in case.backends:
            if backend not in eligible:
                continue
            prep = kernels.prepare(case.layer(), backend)
            runs.append((backend, prep))
        for backend, prep in runs:
            eid = f"{ident}_{backend}"
            lines.append(_arr("int8_t", f"{eid}_w", prep.weights))
            aux = "NULL"
            aux_size = 0
            if prep.aux is not None:
                lines.append(_arr("uint8_t", f"{eid}_aux", prep.aux))
                aux, aux_size = f"{eid}_aux", int(prep.aux.size)
            max_scratch = max(max_scratch, prep.scratch_size)
            p = case.params
            is_fc = case.op == "FULLY_CONNECTED"
            fn = f".fc = {prep.function}" if is_fc else f".conv = {prep.function}"
            if is_fc:
                prm = (f".fp = {{{p['input_offset']}, {p['output_offset']}, {p['act_min']}, {p['act_max']}}}")
            else:
                prm = (f".cp = {{{p['input_offset']}, {p['output_offset']}, {{{p['stride'][0]}, {p['stride'][1]}}}, "
                       f"{{{p['padding'][0]}, {p['padding'][1]}}}, {{{p['dilation'][0]}, {p['dilation'][1]}}}, "
                       f"{p['depth_multiplier']}, {p['act_min']}, {p['act_max']}}}")
            dims = ", ".join(f".{k} = {{{', '.join(map(str, d))}}}" for k, d in
                             (("in_dims", case.in_dims), ("filter_dims", case.filter_dims),
                              ("out_dims", case.out_dims)))
            table.append(
                f"    {{.layer = \"{case.name}\", .backend = \"{backend}\", .is_fc = {int(is_fc)}, {fn}, {prm}, "
                f"{dims}, .weights = {eid}_w, .bias = {ident}_bias, .multiplier = {ident}_mult, "
                f".shift = {ident}_shift, .aux = {aux}, .aux_size = {aux_size}u, "
                f".scratch_size = {prep.scratch_size}u, .input = {ident}_x, .out_size = {out_size}u, "
                f".macs = {case.macs}u, .reps = {case.reps}u}},")
            nnz = int(np.count_nonzero(case.weights))
            entries.append({"layer": case.name, "op": case.op, "backend": backend, "macs": case.macs,
                            "nonzero_macs": _nonzero_macs(case, nnz), "weights_bytes": int(prep.weights.size),
                            "aux_bytes": aux_size, "scratch_bytes": prep.scratch_size, **case.meta})
    lines += ["", f"#define BENCH_N_ENTRIES {len(table)}u", f"#define BENCH_MAX_SCRATCH {max_scratch}u",
              f"#define BENCH_MAX_OUT {max_out}u", "",
              f"static const bench_entry_t bench_entries[{len(table)}] = {{", *table, "};", ""]
    return "\n".join(lines), entries


def _nonzero_macs(case: LayerCase, nnz: int) -> int:
    total = int(case.weights.size)
    return int(round(case.macs * nnz / total)) if total else 0


# ----------------------------------------------------------------------------- build and run


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise FirmwareError(f"{name} is not installed")
    return path


def build(work: Path, header: str) -> Path:
    """Compile the benchmark with the mps2_an500 board files and all kernel backends; returns the ELF."""
    cc = _tool("arm-none-eabi-gcc")
    work.mkdir(parents=True, exist_ok=True)
    (work / "bench_data.h").write_text(header)
    src = FIRMWARE / "src"
    sources = [BENCH_DIR / "bench_main.c", src / "board/mps2_an500/startup.c", src / "board/mps2_an500/board.c",
               *sorted((src / "nn/ref").glob("*.c")), *sorted((src / "nn/simd").glob("*.c")),
               *sorted((src / "nn/sparse").glob("*.c"))]
    elf = work / "bench_kernels.elf"
    cmd = [cc, *ARM_FLAGS, f"-DEDGEKWS_ICOUNT_SHIFT={ICOUNT_SHIFT}", f"-I{FIRMWARE / 'include'}",
           f"-I{src / 'board/mps2_an500'}", f"-I{work}", *map(str, sources), "-nostartfiles", "--specs=nano.specs",
           "-Wl,--gc-sections", "-Wl,--no-warn-rwx-segments", f"-T{src / 'board/mps2_an500/mps2_an500.ld'}",
           "-o", str(elf), "-lc", "-lgcc"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise FirmwareError(f"benchmark build failed: {(proc.stderr.strip().splitlines() or ['?'])[0][:300]}")
    return elf


def run(elf: Path, timeout: float = 600.0) -> tuple[int, str]:
    """Run the ELF in QEMU mps2-an500 with -icount; (exit status, UART text)."""
    cmd = [_tool("qemu-system-arm"), "-machine", "mps2-an500", "-nographic", "-monitor", "none", "-serial", "stdio",
           "-semihosting-config", "enable=on,target=native", "-icount", f"shift={ICOUNT_SHIFT},sleep=off", "-kernel", str(elf)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return proc.returncode, proc.stdout


_LINE = re.compile(r"kernel (\S+) (\S+) macs=(\d+) instructions=(\d+) match=(\d) rc=(-?\d+)")


def parse(text: str, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for m, entry in zip(_LINE.finditer(text), entries, strict=False):  # a crash leaves fewer lines: checked below
        layer, backend, macs, instr, match, rc = m.groups()
        if (layer, backend) != (entry["layer"], entry["backend"]):
            raise FirmwareError(f"benchmark output out of order at {layer} {backend}")
        row = dict(entry, instructions=int(instr), match=match == "1", rc=int(rc))
        row["macs_per_instruction"] = round(int(macs) / max(int(instr), 1), 3)
        rows.append(row)
    if len(rows) != len(entries):
        raise FirmwareError(f"benchmark printed {len(rows)} of {len(entries)} results:\n{text[-500:]}")
    return rows


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Figures the issue's targets are stated in."""
    by = {(r["layer"], r["backend"]): r["instructions"] for r in rows}
    out: dict[str, Any] = {}
    if all((name, b) in by for name in ("conv1", "dw", "pw", "fc") for b in ("ref", "simd")):
        # DS-CNN-S: conv1 + 4 x (depthwise + pointwise) + FC (pooling/softmax run ref on every backend)
        model = {b: by[("conv1", b)] + 4 * (by[("dw", b)] + by[("pw", b)]) + by[("fc", b)] for b in ("ref", "simd")}
        out["ds_cnn_s_conv_layers_instructions"] = model
        out["ds_cnn_s_speedup_simd_vs_ref"] = round(model["ref"] / model["simd"], 2)
    for pattern in ("element", "block"):
        # the whole DS-CNN-S at 80 % sparsity: every layer on its fastest backend (dense simd included);
        # depthwise layers are pruned element-wise in both cases (1x4 blocks do not exist in a 3x3 depthwise)
        names = {"conv1": f"conv1_{pattern}80", "pw": f"pw_{pattern}80", "fc": f"fc_{pattern}80",
                 "dw": "dw_element80"}
        best = {}
        for short, name in names.items():
            cands = [(by[(name, b)], b) for b in ("simd", *kernels.SPARSE_BACKENDS) if (name, b) in by]
            if cands:
                best[short] = min(cands)
        if len(best) == 4 and "ds_cnn_s_conv_layers_instructions" in out:
            total = best["conv1"][0] + 4 * (best["dw"][0] + best["pw"][0]) + best["fc"][0]
            dense = out["ds_cnn_s_conv_layers_instructions"]["simd"]
            out[f"ds_cnn_s_{pattern}80_best_sparse"] = {
                "instructions": total, "speedup_vs_simd": round(dense / total, 2),
                "backends": {k: v[1] for k, v in best.items()}}
    for layer in sorted({r["layer"] for r in rows if r["sparsity"]}):
        simd = by.get((layer, "simd"))
        best = min(((by[(layer, b)], b) for b in kernels.SPARSE_BACKENDS if (layer, b) in by), default=None)
        if simd and best:
            out[f"{layer}_best_sparse"] = {"backend": best[1], "speedup_vs_simd": round(simd / best[0], 2)}
    return out


def print_table(rows: list[dict[str, Any]]) -> None:
    print(f"{'layer':<16}{'backend':<10}{'MACs':>9}{'instructions':>14}{'MAC/instr':>11}{'vs ref':>8}  ok")
    ref = {r["layer"]: r["instructions"] for r in rows if r["backend"] == "ref"}
    for r in rows:
        speed = ref.get(r["layer"], 0) / max(r["instructions"], 1)
        ok = "yes" if r["match"] and r["rc"] == 0 else "NO"
        print(f"{r['layer']:<16}{r['backend']:<10}{r['macs']:>9}{r['instructions']:>14}"
              f"{r['macs_per_instruction']:>11.3f}{speed:>7.2f}x  {ok}")


def benchmark(seed: int = 0, quick: bool = False, work: Path | None = None) -> dict[str, Any]:
    """Generate, build, run and parse; returns {"rows", "summary", "unit", ...}."""
    cases = ds_cnn_s_cases(seed, quick)
    header, entries = generate_header(cases)
    with tempfile.TemporaryDirectory() as tmp:
        wdir = work or Path(tmp)
        wdir.mkdir(parents=True, exist_ok=True)
        elf = build(wdir, header)
        code, text = run(elf)
    rows = parse(text, entries)
    if code != 0:
        raise FirmwareError(f"benchmark exited {code}: a kernel differs from ref or failed on the device")
    return {"unit": "instructions", "emulator": f"qemu-system-arm mps2-an500 -icount shift={ICOUNT_SHIFT},sleep=off",
            "seed": seed, "rows": rows, "summary": summarize(rows)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=BENCH_DIR / "results.json")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="only the dense shapes and 80 %% sparsity")
    args = ap.parse_args()
    result = benchmark(args.seed, args.quick)
    print_table(result["rows"])
    print(json.dumps(result["summary"], indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    os.replace(tmp, args.out)
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
