"""Call nn kernels directly through ctypes and compare every backend with ref.

Why a direct harness (beside the whole-model tests in test_nn_ops.py): the
fast kernels have many code paths (2x2 / 2x1 / 1x2 blocks, tails of 4, border
taps, 4-pixel groups, empty sparse rows) that only random shapes, strides,
paddings, offsets, activations and sparsity patterns reach, thousands of times
in seconds. Weights, aux data and scratch come from the exporter's registry
(edgekws.export.kernels), so the Python and C sides of each contract are tested
together.

Run as a script (``python nn_kernel_harness.py LIB N SEED``) it checks N random
cases per kernel against a library built with sanitizers; the tests start it
with libasan preloaded.
"""

from __future__ import annotations

import ctypes
import dataclasses
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "host"))

from edgekws.export import kernels  # noqa: E402

c_i32 = ctypes.c_int32


class Dims(ctypes.Structure):
    _fields_ = [("n", c_i32), ("h", c_i32), ("w", c_i32), ("c", c_i32)]


class HW(ctypes.Structure):
    _fields_ = [("h", c_i32), ("w", c_i32)]


class Quant(ctypes.Structure):
    _fields_ = [("multiplier", ctypes.POINTER(c_i32)), ("shift", ctypes.POINTER(c_i32))]


class ConvParams(ctypes.Structure):
    _fields_ = [("input_offset", c_i32), ("output_offset", c_i32), ("stride", HW), ("padding", HW),
                ("dilation", HW), ("depth_multiplier", c_i32), ("act_min", c_i32), ("act_max", c_i32)]


class FcParams(ctypes.Structure):
    _fields_ = [("input_offset", c_i32), ("output_offset", c_i32), ("act_min", c_i32), ("act_max", c_i32)]


class Context(ctypes.Structure):
    _fields_ = [("scratch", ctypes.c_void_p), ("scratch_size", ctypes.c_uint32), ("aux", ctypes.c_void_p),
                ("aux_size", ctypes.c_uint32)]


@dataclass
class Case:
    """One layer invocation: TFLite-layout weights plus everything the kernels take."""

    op: str
    in_dims: tuple[int, int, int, int]
    filter_dims: tuple[int, int, int, int]
    out_dims: tuple[int, int, int, int]
    params: dict[str, Any]
    weights: np.ndarray
    bias: np.ndarray | None
    multiplier: np.ndarray
    shift: np.ndarray
    x: np.ndarray
    note: str = field(default="")

    def layer(self) -> kernels.KernelLayer:
        return kernels.KernelLayer(self.op, self.in_dims, self.filter_dims, self.out_dims, self.params, self.weights,
                                   self.bias, self.multiplier, self.shift)


def aligned(arr: np.ndarray, align: int = 16) -> np.ndarray:
    """A copy of ``arr`` whose data starts on an ``align``-byte boundary (kernels read records as uint32)."""
    raw = np.ascontiguousarray(arr).reshape(-1)
    nbytes = raw.nbytes
    buf = np.zeros(nbytes + align, np.uint8)
    start = (-buf.ctypes.data) % align
    out = buf[start:start + nbytes].view(raw.dtype)
    out[:] = raw
    return out


def _ptr(a: np.ndarray | None) -> ctypes.c_void_p | None:
    return None if a is None else ctypes.c_void_p(a.ctypes.data)


def _quant_multipliers(rng: np.random.Generator, n: int, acc_std: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (multiplier, shift) that map typical accumulators to about +-60."""
    mult = np.zeros(n, np.int32)
    shift = np.zeros(n, np.int32)
    for i in range(n):
        real = 60.0 / max(acc_std, 1.0) * float(rng.uniform(0.3, 3.0))
        q, e = math.frexp(real)
        m = min(int(round(q * 2**31)), 2**31 - 1)
        mult[i], shift[i] = m, e
    return mult, shift


def _out_size(n: int, k: int, s: int, d: int, same: bool) -> tuple[int, int]:
    eff = (k - 1) * d + 1
    if same:
        out = (n + s - 1) // s
        pad = max((out - 1) * s + eff - n, 0) // 2
        return out, pad
    return (n - eff + s) // s, 0


def sparsify(rng: np.random.Generator, rows: np.ndarray, kind: str, level: float) -> np.ndarray:
    """Zero a fraction ``level`` of the weights of [n, K] rows: 'element', 'block' (1x4 along K) or 'row'."""
    rows = rows.copy()
    n, k = rows.shape
    if kind == "element":
        rows[rng.random((n, k)) < level] = 0
    elif kind == "block":
        nb = (k + 3) // 4
        drop = np.repeat(rng.random((n, nb)) < level, 4, axis=1)[:, :k]
        rows[drop] = 0
    elif kind == "row":
        rows[rng.random(n) < level] = 0
    return rows


def _common(rng: np.random.Generator, n_out: int, taps: int) -> dict[str, Any]:
    acc_std = math.sqrt(max(taps, 1)) * 127 * 90
    mult, shift = _quant_multipliers(rng, n_out, acc_std)
    lo = int(rng.choice([-128, -128, -100, -20]))
    hi = int(rng.choice([127, 127, 100, 30]))
    out_off = int(rng.integers(-128, 128))
    # ReLU-like ranges from the values already drawn (no extra draw: the seeded streams of every test stay):
    if lo == -128 and hi == 127 and out_off < -64:  # the usual int8 ReLU output: zero point -128 (simd's fastest)
        out_off = -128
    elif lo == -100:  # ReLU with another zero point: the floor is the zero point when that is above -100
        lo = max(lo, out_off)
    return dict(mult=mult, shift=shift, in_off=int(rng.integers(-127, 129)), out_off=out_off,
                act=(lo, max(hi, lo)), bias=(rng.integers(-int(acc_std), int(acc_std) + 1, n_out).astype(np.int32)
                                             if rng.random() < 0.85 else None))


def random_conv(rng: np.random.Generator, sparsity: tuple[str, float] | None = None, depthwise: bool = False,
                max_hw: int = 12, max_c: int = 20) -> Case:
    """A random CONV_2D (or DEPTHWISE_CONV_2D) case, optionally with a sparsity pattern."""
    while True:
        h, w = int(rng.integers(1, max_hw + 1)), int(rng.integers(1, max_hw + 1))
        kh, kw = int(rng.integers(1, 6)), int(rng.integers(1, 6))
        sh, sw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        dh, dw = (int(rng.integers(1, 3)), int(rng.integers(1, 3))) if rng.random() < 0.25 else (1, 1)
        same = bool(rng.random() < 0.6)
        oh, ph = _out_size(h, kh, sh, dh, same)
        ow, pw = _out_size(w, kw, sw, dw, same)
        if oh > 0 and ow > 0:
            break
    c = int(rng.integers(1, max_c + 1))
    batches = 2 if rng.random() < 0.15 else 1
    if depthwise:
        dm = 1 if rng.random() < 0.8 else int(rng.integers(2, 4))
        oc = c * dm
        filt = (1, kh, kw, oc)
        wt = rng.integers(-127, 128, (1, kh, kw, oc)).astype(np.int8)
        if sparsity:
            wt = sparsify(rng, wt.reshape(-1, oc).T, *sparsity).T.reshape(wt.shape)
        taps = kh * kw
    else:
        dm = 1
        oc = int(rng.integers(1, 18))
        filt = (oc, kh, kw, c)
        rows = rng.integers(-127, 128, (oc, kh * kw * c)).astype(np.int8)
        if sparsity:
            rows = sparsify(rng, rows, *sparsity)
        wt = rows.reshape(filt)
        taps = kh * kw * c
    cm = _common(rng, oc, taps)
    params = dict(input_offset=cm["in_off"], output_offset=cm["out_off"], stride=(sh, sw), padding=(ph, pw),
                  dilation=(dh, dw), depth_multiplier=dm, act_min=cm["act"][0], act_max=cm["act"][1])
    x = rng.integers(-128, 128, batches * h * w * c).astype(np.int8)
    return Case("DEPTHWISE_CONV_2D" if depthwise else "CONV_2D", (batches, h, w, c), filt, (batches, oh, ow, oc),
                params, wt, cm["bias"], cm["mult"], cm["shift"], x)


def random_fc(rng: np.random.Generator, sparsity: tuple[str, float] | None = None) -> Case:
    depth = int(rng.integers(1, 80))
    units = int(rng.integers(1, 20))
    batches = int(rng.choice([1, 1, 1, 2, 3, 5]))
    rows = rng.integers(-127, 128, (units, depth)).astype(np.int8)
    if sparsity:
        rows = sparsify(rng, rows, *sparsity)
    cm = _common(rng, units, depth)
    params = dict(input_offset=cm["in_off"], output_offset=cm["out_off"], act_min=cm["act"][0],
                  act_max=cm["act"][1])
    x = rng.integers(-128, 128, batches * depth).astype(np.int8)
    return Case("FULLY_CONNECTED", (batches, 1, 1, depth), (units, 1, 1, depth), (batches, 1, 1, units), params,
                rows, cm["bias"], cm["mult"], cm["shift"], x)


def conv_params(p: dict[str, Any]) -> ConvParams:
    return ConvParams(p["input_offset"], p["output_offset"], HW(*p["stride"]), HW(*p["padding"]),
                      HW(*p["dilation"]), p["depth_multiplier"], p["act_min"], p["act_max"])


def run_kernel(lib: ctypes.CDLL, case: Case, backend: str, *, scratch_delta: int = 0,
               drop_aux: bool = False, scratch_size: int | None = None,
               aux_override: np.ndarray | None = None) -> tuple[int, np.ndarray]:
    """Run ``case`` on ``backend``: (return code, int8 output). ``scratch_size`` overrides the registry's,
    ``aux_override`` the exporter's ctx->aux bytes (to plant a corrupted blob)."""
    prep = kernels.prepare(case.layer(), backend)
    if scratch_size is not None:
        prep = dataclasses.replace(prep, scratch_size=scratch_size)
    fn = getattr(lib, prep.function)
    w = aligned(prep.weights if prep.weights is not None else np.zeros(4, np.int8))
    if aux_override is not None:
        prep = dataclasses.replace(prep, aux=np.asarray(aux_override).view(np.uint8))
    aux = None if prep.aux is None or drop_aux else aligned(prep.aux)
    size = max(prep.scratch_size + scratch_delta, 0)
    scratch = aligned(np.zeros(max(size, 4), np.uint8)) if prep.scratch_size else None
    ctx = Context(_ptr(scratch), size if scratch is not None else 0, _ptr(aux),
                  0 if aux is None else aux.size)
    mult = aligned(case.multiplier.astype(np.int32))
    shift = aligned(case.shift.astype(np.int32))
    q = Quant(mult.ctypes.data_as(ctypes.POINTER(c_i32)), shift.ctypes.data_as(ctypes.POINTER(c_i32)))
    bias = None if case.bias is None else aligned(case.bias.astype(np.int32))
    x = aligned(case.x)
    out = np.full(int(np.prod(case.out_dims)), 0x5A, np.int8)
    if case.op == "FULLY_CONNECTED":
        params: Any = FcParams(case.params["input_offset"], case.params["output_offset"], case.params["act_min"],
                               case.params["act_max"])
    else:
        params = conv_params(case.params)
    rc = fn(ctypes.byref(ctx), ctypes.byref(params), ctypes.byref(q), ctypes.byref(Dims(*case.in_dims)), _ptr(x),
            ctypes.byref(Dims(*case.filter_dims)), _ptr(w), _ptr(bias), ctypes.byref(Dims(*case.out_dims)),
            _ptr(out))
    return int(rc), out


def compare(lib: ctypes.CDLL, case: Case, backend: str, scratch_size: int | None = None) -> int:
    """Assert ``backend`` equals ref on ``case``; returns the number of int8 outputs compared."""
    rc_ref, want = run_kernel(lib, case, "ref")
    assert rc_ref == 0, f"ref failed ({rc_ref}) on {case.op} {case.in_dims} {case.filter_dims}"
    rc, got = run_kernel(lib, case, backend, scratch_size=scratch_size)
    assert rc == 0, f"{backend} returned {rc} on {case.op} in={case.in_dims} f={case.filter_dims} {case.params}"
    if not np.array_equal(got, want):
        bad = np.flatnonzero(got != want)
        raise AssertionError(f"{backend} != ref on {case.op} in={case.in_dims} f={case.filter_dims} "
                             f"out={case.out_dims} {case.params}: {bad.size} differ, first {bad[:6]}: "
                             f"{got[bad[:6]]} vs {want[bad[:6]]}")
    return int(want.size)


SPARSITIES: list[tuple[str, float] | None] = [None, ("element", 0.5), ("element", 0.8), ("element", 0.95),
                                              ("block", 0.8), ("block", 0.5), ("row", 0.5), ("element", 1.0)]


def random_case(rng: np.random.Generator, op: str) -> Case:
    sp = SPARSITIES[int(rng.integers(len(SPARSITIES)))]
    if op == "FULLY_CONNECTED":
        return random_fc(rng, sp)
    return random_conv(rng, sp, depthwise=op == "DEPTHWISE_CONV_2D")


def sweep(lib: ctypes.CDLL, n: int, seed: int, backends: tuple[str, ...]) -> dict[str, int]:
    """n random cases per op for every eligible backend; returns outputs compared per backend."""
    rng = np.random.default_rng(seed)
    counts = {b: 0 for b in backends}
    for op in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
        for _ in range(n):
            case = random_case(rng, op)
            for b in kernels.eligible_backends(case.layer()):
                if b in backends:
                    counts[b] += compare(lib, case, b)
    return counts


if __name__ == "__main__":
    lib_path, n_cases, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    result = sweep(ctypes.CDLL(lib_path), n_cases, seed, tuple(kernels.BACKENDS[1:]))
    print(" ".join(f"{b}={v}" for b, v in result.items()))
