"""The simd DEPTHWISE_CONV_2D 3x3 path on the shapes DS-CNN-S runs, full-window and streaming, against ref.

The streaming model form is "valid in time, same in frequency": its depthwise layers are 3x3 / stride 1 with
padding top 0, left 1, run on the whole window (21 -> 19 -> 17 ... rows) or, per streaming step, on 3 input rows
(one output row); the full-window model pads top and left by 1. Every one of these takes the kernel's column
walk (kernels.simd_dw3x3), whose Cortex-M7 build is hand-scheduled assembly in three copies (one per fixed
requantization shift), with border columns that skip their padding and 4 / 2 / 1-output steps; the channel
quantizations here are drawn so that all three copies, the unscaled rows (C walk) and the general
requantization occur, with the ReLU-as-TFLite activation (the assembly) and other clamps (the C walk).
"""

from __future__ import annotations

import ctypes
import sys

import numpy as np
import pytest

import cbuild
import nn_kernel_harness as h
from edgekws.export import kernels

# (input h, w, c), padding top: DS-CNN-S's depthwise layers full-window and per streaming step
SHAPES = [
    ((25, 5, 64), 1),  # full window, same
    ((21, 5, 64), 0),  # streaming model on the whole window: 21 -> 19 rows
    ((19, 5, 64), 0),
    ((3, 5, 64), 0),  # one streaming step: 3 input rows -> 1 output row
    ((4, 5, 64), 0),  # two output rows (a skipped step caught up)
    ((6, 5, 64), 0),
]


def make_case(rng: np.random.Generator, in_hwc: tuple[int, int, int], pad_top: int, relu: bool) -> h.Case:
    """One 3x3 depthwise layer with random weights, input and offsets; per channel a right shift drawn over
    1..21 (the bias scaled with it so the outputs spread), so the exporter's three assembly shifts, its
    unscaled rows and (without ReLU) the general requantization all occur."""
    ih, iw, c = in_hwc
    oh = ih if pad_top else ih - 2
    cm = h._common(rng, c, 9)
    lo, hi, out_off = cm["act"][0], cm["act"][1], cm["out_off"]
    if relu:  # DS-CNN's fused ReLU as TFLite quantizes it: zero point -128, no clamp beyond int8
        lo, hi, out_off = -128, 127, -128
    rsh = rng.integers(1, 22, c)
    mult = rng.integers(2**30, 2**31 - 1, c).astype(np.int32)
    bias = np.array([int(rng.integers(-(1 << min(r + 8, 27)), 1 << min(r + 8, 27))) for r in rsh], np.int32)
    params = dict(input_offset=cm["in_off"], output_offset=out_off, stride=(1, 1), padding=(pad_top, 1),
                  dilation=(1, 1), depth_multiplier=1, act_min=lo, act_max=hi)
    w = rng.integers(-127, 128, (1, 3, 3, c)).astype(np.int8)
    x = rng.integers(-128, 128, ih * iw * c).astype(np.int8)
    return h.Case("DEPTHWISE_CONV_2D", (1, ih, iw, c), (1, 3, 3, c), (1, oh, iw, c), params, w, bias, mult,
                  (-rsh).astype(np.int32), x)


def random_cases(rng: np.random.Generator, n: int) -> list[h.Case]:
    """Every height from 1 output row up (each remainder of the 4-row steps), widths 1..9 (the border columns
    of a 2-column image meet; 1 column takes the C walk), channels a multiple of 4."""
    out = []
    for i in range(n):
        pad_top = i % 2
        oh, w = int(rng.integers(1, 13)), int(rng.integers(1, 10))
        c = int(rng.choice([4, 8, 12]))
        out.append(make_case(rng, (oh + 2 - 2 * pad_top, w, c), pad_top, relu=i % 3 != 2))
    return out


def cases(seed: int, per_shape: int, n_random: int) -> list[h.Case]:
    rng = np.random.default_rng(seed)
    return [make_case(rng, *shape, relu=i % 2 == 0) for shape in SHAPES for i in range(per_shape)] + \
        random_cases(rng, n_random)


@pytest.fixture(scope="module")
def lib(tmp_path_factory, host_cc) -> ctypes.CDLL:
    del host_cc
    out = tmp_path_factory.mktemp("nnsimddw") / "libkernels.so"
    return ctypes.CDLL(str(cbuild.compile_shared(cbuild.nn_sources(("ref", "simd")), out)))


def test_every_case_takes_the_3x3_path_and_its_table_rows():
    """The shapes are on the 3x3 path (padding top 0 included), with all kinds of table rows among them."""
    codes = set()
    for case in cases(seed=40, per_shape=2, n_random=40):
        layer = case.layer()
        assert kernels.simd_dw3x3(layer), (case.in_dims, case.params["padding"])
        table = kernels.prepare(layer, "simd").aux.view("<i4").reshape(-1, 4)
        codes |= {int(r) if r < kernels.DW3_SH_CODE else int(r) - kernels.DW3_SH_CODE for r in table[:, 3]}
    assert {7, 13, 19, -1} <= codes and codes & set(range(1, 22)), codes


def test_scratch_is_the_ring_of_the_output_height():
    """NN_DEPTHWISE_S8_SIMD_SCRATCH_3X3(out_h) agrees with the exporter (168 B on DS-CNN-S: no arena growth)."""
    header = (cbuild.FIRMWARE / "include" / "edgekws" / "nn_simd.h").read_text()
    assert "#define NN_DEPTHWISE_S8_SIMD_SCRATCH_3X3(out_h) (((uint32_t)(out_h) + 1u) / 2u * 12u + 12u)" in header
    rng = np.random.default_rng(1)
    for (ih, w, c), pad_top in SHAPES:
        case = make_case(rng, (ih, w, c), pad_top, relu=True)
        oh = case.out_dims[1]
        assert kernels.prepare(case.layer(), "simd").scratch_size == ((oh + 1) // 2 + 1) * 12
    assert kernels.prepare(make_case(rng, (25, 5, 64), 1, relu=True).layer(), "simd").scratch_size == 168


def test_simd_depthwise_streaming_and_full_window_shapes_match_ref(lib):
    compared = 0
    for case in cases(seed=41, per_shape=3, n_random=60):
        compared += h.compare(lib, case, "simd")
        assert h.run_kernel(lib, case, "simd", scratch_delta=-1)[0] == -1  # NN_ERR_ARG: ring too small
    assert compared > 60_000


@pytest.mark.slow
@pytest.mark.emulator
def test_device_depthwise_shapes_match_ref(tmp_path, arm_gcc, qemu_arm):
    """The same shapes on the emulated Cortex-M7 (the assembly column walks) equal ref there."""
    del arm_gcc, qemu_arm
    sys.path.insert(0, str(cbuild.REPO_ROOT / "benchmarks"))
    import kernels as bench

    layer_cases = [bench.LayerCase(f"dw{i}", c.op, c.in_dims, c.filter_dims, c.out_dims, c.params, c.weights,
                                   c.bias, c.multiplier, c.shift, c.x, ("ref", "simd"))
                   for i, c in enumerate(cases(seed=42, per_shape=2, n_random=30))]
    result = bench.device_check(layer_cases, tmp_path)
    failed = [(r["layer"], r["backend"], r["rc"]) for r in result["rows"] if not r["match"] or r["rc"] != 0]
    assert result["entries"] >= len(layer_cases) and not failed, failed
