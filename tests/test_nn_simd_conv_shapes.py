"""The simd CONV_2D on the shapes DS-CNN-S runs, full-window and streaming, against ref (host and emulator).

The streaming model form is "valid in time, same in frequency": its first conv is 10x4 / stride 2 with padding
top 0, left 1, run on the whole 50x10 window (21x5 outputs) or, per streaming step, on a 10-row slice (one output
row); its pointwise layers are called on one 5-pixel row per step. Those shapes take other tails of the kernel's
pixel blocks and other edge columns than the full-window model, so each is checked here with random weights,
offsets and activations (the ReLU-as-TFLite one, the kernels' fastest path, among them).
"""

from __future__ import annotations

import ctypes
import sys

import numpy as np
import pytest

import cbuild
import nn_kernel_harness as h

# (input h, w, c), out_c, kernel, stride, padding (top, left): DS-CNN-S's convs full-window and per streaming step
SHAPES = [
    ((50, 10, 1), 64, (10, 4), (2, 2), (4, 1)),  # first conv, SAME (full window)
    ((49, 10, 1), 64, (10, 4), (2, 2), (4, 1)),  # first conv, SAME on 49 frames
    ((50, 10, 1), 64, (10, 4), (2, 2), (0, 1)),  # first conv, valid in time: 21x5 outputs
    ((10, 10, 1), 64, (10, 4), (2, 2), (0, 1)),  # first conv, one streaming step: 1x5 outputs
    ((12, 10, 1), 64, (10, 4), (2, 2), (0, 1)),  # two output rows per step (a skipped step caught up)
    ((25, 5, 64), 64, (1, 1), (1, 1), (0, 0)),  # pointwise, full window (125 pixels)
    ((21, 5, 64), 64, (1, 1), (1, 1), (0, 0)),  # pointwise, streaming full window (105 pixels)
    ((1, 5, 64), 64, (1, 1), (1, 1), (0, 0)),  # pointwise, one streaming step (5 pixels)
    ((2, 5, 64), 64, (1, 1), (1, 1), (0, 0)),
]


def make_case(rng: np.random.Generator, in_hwc: tuple[int, int, int], out_c: int, k: tuple[int, int],
              s: tuple[int, int], pad: tuple[int, int], relu: bool) -> h.Case:
    """One conv of the shape with random int8 weights and input, per-channel quantization and offsets."""
    ih, iw, c = in_hwc
    oh = (ih + 2 * pad[0] - k[0]) // s[0] + 1 if pad[0] == 0 else (ih + s[0] - 1) // s[0]
    ow = (iw + s[1] - 1) // s[1] if pad[1] else (iw - k[1]) // s[1] + 1
    cm = h._common(rng, out_c, k[0] * k[1] * c)
    lo, hi, out_off = cm["act"][0], cm["act"][1], cm["out_off"]
    if relu:  # DS-CNN's fused ReLU as TFLite quantizes it: zero point -128, no clamp beyond int8
        lo, hi, out_off = -128, 127, -128
    params = dict(input_offset=cm["in_off"], output_offset=out_off, stride=s, padding=pad, dilation=(1, 1),
                  depth_multiplier=1, act_min=lo, act_max=hi)
    w = rng.integers(-127, 128, (out_c, k[0], k[1], c)).astype(np.int8)
    x = rng.integers(-128, 128, ih * iw * c).astype(np.int8)
    return h.Case("CONV_2D", (1, ih, iw, c), (out_c, k[0], k[1], c), (1, oh, ow, out_c), params, w, cm["bias"],
                  cm["mult"], cm["shift"], x)


def cases(seed: int, per_shape: int) -> list[h.Case]:
    rng = np.random.default_rng(seed)
    return [make_case(rng, *shape, relu=i % 2 == 0) for shape in SHAPES for i in range(per_shape)]


@pytest.fixture(scope="module")
def lib(tmp_path_factory, host_cc) -> ctypes.CDLL:
    del host_cc
    out = tmp_path_factory.mktemp("nnsimdshapes") / "libkernels.so"
    return ctypes.CDLL(str(cbuild.compile_shared(cbuild.nn_sources(("ref", "simd")), out)))


def test_out_dims_of_the_streaming_shapes():
    """The shapes are the ones the streaming model runs: 21x5 on the full window, 1x5 per 10-row step."""
    rng = np.random.default_rng(0)
    dims = [make_case(rng, *shape, relu=True).out_dims[1:3] for shape in SHAPES]
    assert dims[:5] == [(25, 5), (25, 5), (21, 5), (1, 5), (2, 5)]


def test_simd_conv_streaming_and_full_window_shapes_match_ref(lib):
    compared = 0
    for case in cases(seed=31, per_shape=4):
        compared += h.compare(lib, case, "simd")
    assert compared > 150_000


@pytest.mark.slow
@pytest.mark.emulator
def test_device_streaming_and_full_window_shapes_match_ref(tmp_path, arm_gcc, qemu_arm):
    """The same shapes on the emulated Cortex-M7 (the hand-scheduled assembly paths) equal ref there."""
    del arm_gcc, qemu_arm
    sys.path.insert(0, str(cbuild.REPO_ROOT / "benchmarks"))
    import kernels as bench

    layer_cases = [bench.LayerCase(f"shape{i}", c.op, c.in_dims, c.filter_dims, c.out_dims, c.params, c.weights,
                                   c.bias if c.bias is not None else np.zeros(c.out_dims[3], np.int32),
                                   c.multiplier, c.shift, c.x, ("ref", "simd"))
                   for i, c in enumerate(cases(seed=32, per_shape=2))]
    result = bench.device_check(layer_cases, tmp_path)
    failed = [(r["layer"], r["backend"], r["rc"]) for r in result["rows"] if not r["match"] or r["rc"] != 0]
    assert result["entries"] >= len(layer_cases) and not failed, failed


def _conv_1x1(rng: np.random.Generator, hw: tuple[int, int], c: int, oc: int, relu: bool) -> h.Case:
    cm = h._common(rng, oc, c)
    lo, hi, out_off = (-128, 127, -128) if relu else (cm["act"][0], cm["act"][1], cm["out_off"])
    params = dict(input_offset=cm["in_off"], output_offset=out_off, stride=(1, 1), padding=(0, 0),
                  dilation=(1, 1), depth_multiplier=1, act_min=lo, act_max=hi)
    return h.Case("CONV_2D", (1, *hw, c), (oc, 1, 1, c), (1, *hw, oc), params,
                  rng.integers(-127, 128, (oc, 1, 1, c)).astype(np.int8), cm["bias"], cm["mult"], cm["shift"],
                  rng.integers(-128, 128, hw[0] * hw[1] * c).astype(np.int8))


def one_by_one_cases(seed: int, n: int) -> list[h.Case]:
    """Direct 1x1 convs: every pixel count mod 3 (the 3-pixel block's repeated last pixel), odd and even
    channel counts, K4 up to the 3x2 kernel's limit and past it (the 2x4 block's direct path), ReLU as TFLite
    quantizes it (the assembly) and other clamps (the C block)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        hw = (int(rng.integers(1, 4)), int(rng.integers(1, 6)))
        c = int(rng.choice([4, 8, 12, 32, 60, 64, 68, 128]))
        oc = int(rng.choice([1, 2, 3, 5, 8, 17, 64]))
        out.append(_conv_1x1(rng, hw, c, oc, relu=i % 3 != 2))
    return out


def test_simd_1x1_kernel_constants_agree():
    """The exporter's limit of the 3x2 kernel and its layout are the C side's (nn_simd.h)."""
    from edgekws.export import kernels

    header = (cbuild.FIRMWARE / "include" / "edgekws" / "nn_simd.h").read_text()
    assert f"#define NN_CONV2D_1X1_S8_SIMD_MAX_K4 {kernels.SIMD_1X1_MAX_K4}\n" in header
    case = _conv_1x1(np.random.default_rng(1), (1, 5), 64, 5, relu=True)
    prep = kernels.prepare(case.layer(), "simd")
    assert prep.scratch_size == 0 and prep.weights.size == 3 * (4 * 64 + 32)  # 3 channel pairs, the last padded


def test_simd_1x1_kernel_matches_ref(lib):
    from edgekws.export import kernels

    on_3x2 = 0
    for case in one_by_one_cases(seed=33, n=90):
        on_3x2 += kernels.simd_conv_1x1_3x2(case.layer())
        h.compare(lib, case, "simd")
    assert 50 < on_3x2 < 90


@pytest.mark.slow
@pytest.mark.emulator
def test_device_1x1_kernel_matches_ref(tmp_path, arm_gcc, qemu_arm):
    """The 1x1 cases on the emulated Cortex-M7: the 3x2 assembly (and its C block) equal ref there."""
    del arm_gcc, qemu_arm
    sys.path.insert(0, str(cbuild.REPO_ROOT / "benchmarks"))
    import kernels as bench

    layer_cases = [bench.LayerCase(f"pw{i}", c.op, c.in_dims, c.filter_dims, c.out_dims, c.params, c.weights,
                                   c.bias if c.bias is not None else np.zeros(c.out_dims[3], np.int32),
                                   c.multiplier, c.shift, c.x, ("ref", "simd"))
                   for i, c in enumerate(one_by_one_cases(seed=34, n=40))]
    result = bench.device_check(layer_cases, tmp_path)
    failed = [(r["layer"], r["backend"], r["rc"]) for r in result["rows"] if not r["match"] or r["rc"] != 0]
    assert result["entries"] >= len(layer_cases) and not failed, failed


def test_simd_layout_version_guard(tmp_path, host_cc):
    """Generated C that uses simd names the weight-layout version it was exported for: it compiles against the
    kernels of that version and stops with one #error line against any other (a stale edgekws_model.c)."""
    del host_cc
    from types import SimpleNamespace

    from edgekws.export import codegen_c, kernels

    header = (cbuild.FIRMWARE / "include" / "edgekws" / "nn_simd.h").read_text()
    assert f"#define NN_SIMD_LAYOUT_VERSION {kernels.SIMD_LAYOUT_VERSION}\n" in header
    lines = codegen_c.backend_includes([SimpleNamespace(backend="simd", kernel="nn_conv2d_s8_simd")])
    src = tmp_path / "m.c"
    src.write_text("\n".join([*lines, "int edgekws_probe;", ""]))
    cbuild.compile_objects([src], tmp_path / "ok")
    stale = [ln.replace(f"!= {kernels.SIMD_LAYOUT_VERSION}", f"!= {kernels.SIMD_LAYOUT_VERSION + 1}") for ln in lines]
    src.write_text("\n".join([*stale, "int edgekws_probe;", ""]))
    with pytest.raises(RuntimeError, match="re-run edgekws export c"):
        cbuild.compile_objects([src], tmp_path / "stale")
