"""simd kernels (firmware/src/nn/simd/) against ref: identical int8 outputs on random layers.

The same kernel sources run here with the exact C models of the DSP instructions
(edgekws/nn_dsp.h), under -Werror and once under ASan/UBSan; the Arm build is
checked to compile with the firmware's flags and to really use SMLAD/SXTB16; and
the emulator test runs random layers on the Cortex-M7 build, whose hot loops are
hand-scheduled assembly, against ref on the device.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import cbuild
import nn_kernel_harness as h
from edgekws.errors import ModelError
from edgekws.export import kernels

BACKENDS = ("ref", "simd", "sparse")


@pytest.fixture(scope="module")
def lib(tmp_path_factory, host_cc) -> ctypes.CDLL:
    del host_cc
    out = tmp_path_factory.mktemp("nnsimd") / "libkernels.so"
    return ctypes.CDLL(str(cbuild.compile_shared(cbuild.nn_sources(BACKENDS), out)))


@pytest.mark.parametrize("op", ["CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"])
def test_simd_matches_ref_on_random_layers(lib, op):
    rng = np.random.default_rng({"CONV_2D": 1, "DEPTHWISE_CONV_2D": 2, "FULLY_CONNECTED": 3}[op])
    compared = cases = 0
    for _ in range(250):
        case = h.random_case(rng, op)
        if "simd" in kernels.eligible_backends(case.layer()):
            compared += h.compare(lib, case, "simd")
            cases += 1
    assert cases >= 150 and compared > 5000


def test_simd_conv_1x1_direct_path(lib):
    """1x1 convs whose columns are the input pixels (widened straight from the input, SXTAB16 order, no im2col
    column) and their near misses (channels not a multiple of 4, padding, stride 2: the im2col path)."""
    rng = np.random.default_rng(12)
    direct = compared = 0
    for i in range(120):
        c = int(rng.choice([4, 8, 12, 64])) if i % 3 else int(rng.integers(1, 13))
        h_, w_ = int(rng.integers(1, 7)), int(rng.integers(1, 7))
        oc = int(rng.integers(1, 19))
        stride, pad = ((1, 1), (0, 0)) if i % 5 else ((2, 2), (0, 0))
        oh, ow = (h_ - 1) // stride[0] + 1, (w_ - 1) // stride[1] + 1
        cm = h._common(rng, oc, c)
        params = dict(input_offset=cm["in_off"], output_offset=cm["out_off"], stride=stride, padding=pad,
                      dilation=(1, 1), depth_multiplier=1, act_min=cm["act"][0], act_max=cm["act"][1])
        case = h.Case("CONV_2D", (1, h_, w_, c), (oc, 1, 1, c), (1, oh, ow, oc), params,
                      rng.integers(-127, 128, (oc, 1, 1, c)).astype(np.int8), cm["bias"], cm["mult"], cm["shift"],
                      rng.integers(-128, 128, h_ * w_ * c).astype(np.int8))
        direct += kernels.simd_direct_1x1(case.layer())
        compared += h.compare(lib, case, "simd")
        if kernels.simd_direct_1x1(case.layer()):  # the direct path needs no im2col column: 4*K4, not 6*K4
            k4 = (c + 3) // 4 * 4  # up to 64 the 3x2 kernel's columns are on the stack: no scratch
            assert kernels.prepare(case.layer(), "simd").scratch_size == (0 if k4 <= 64 else 4 * k4)
    assert direct > 40 and compared > 3000


def test_simd_depthwise_3x3_path(lib):
    """The depthwise 3x3 / stride 1 / padding 1 path (int16 tap-pair weights from flash, a ring of 3 input rows
    in scratch, 2 outputs per LDRD): every width (odd ones end on a single output) and height, including 1,
    and channel counts that are multiples of 4; its near misses take the tap-list path."""
    rng = np.random.default_rng(13)
    on_path = 0
    for i in range(80):
        h_, w_ = int(rng.integers(1, 9)), int(rng.integers(1, 10))
        c = int(rng.choice([4, 8, 12, 64])) if i % 4 else int(rng.choice([3, 5, 6]))
        cm = h._common(rng, c, 9)
        params = dict(input_offset=cm["in_off"], output_offset=cm["out_off"], stride=(1, 1), padding=(1, 1),
                      dilation=(1, 1), depth_multiplier=1, act_min=cm["act"][0], act_max=cm["act"][1])
        case = h.Case("DEPTHWISE_CONV_2D", (1, h_, w_, c), (1, 3, 3, c), (1, h_, w_, c), params,
                      rng.integers(-127, 128, (1, 3, 3, c)).astype(np.int8), cm["bias"], cm["mult"], cm["shift"],
                      rng.integers(-128, 128, h_ * w_ * c).astype(np.int8))
        on_path += kernels.simd_dw3x3(case.layer())
        h.compare(lib, case, "simd")
        if kernels.simd_dw3x3(case.layer()):
            assert h.run_kernel(lib, case, "simd", scratch_delta=-1)[0] == -1  # NN_ERR_ARG: ring too small
    assert on_path > 50


def test_simd_ds_cnn_shapes(lib):
    """The DS-CNN-S layers exactly: conv 10x4 /2 on 49x10x1, depthwise 3x3 and pointwise on 25x5x64, FC 64->12."""
    sys.path.insert(0, str(cbuild.REPO_ROOT / "benchmarks"))
    import kernels as bench

    for case in bench.ds_cnn_s_cases(seed=3, quick=True):
        c = h.Case(case.op, case.in_dims, case.filter_dims, case.out_dims, case.params, case.weights, case.bias,
                   case.multiplier, case.shift, case.x)
        for backend in case.backends:
            if backend != "ref" and backend in kernels.eligible_backends(c.layer()):
                assert h.compare(lib, c, backend) > 0


def test_simd_odd_shapes_and_extremes(lib):
    """Tails of every block: 1..9 output channels and pixels, K not a multiple of 4, saturating offsets."""
    rng = np.random.default_rng(11)
    for oc in range(1, 10):
        for hw in ((1, 1), (1, 3), (2, 3), (3, 3), (1, 9)):
            for c in (1, 3, 4, 5):
                case = h.random_conv(rng)
                w = rng.integers(-127, 128, (oc, 1, 2, c)).astype(np.int8)
                x = np.full(hw[0] * hw[1] * c, int(rng.choice([-128, 127])), np.int8)
                params = dict(case.params, stride=(1, 1), padding=(0, 1), dilation=(1, 1), depth_multiplier=1)
                cm = h._common(rng, oc, 2 * c)
                case = h.Case("CONV_2D", (1, hw[0], hw[1], c), (oc, 1, 2, c), (1, hw[0], hw[1], oc), params, w,
                              cm["bias"], cm["mult"], cm["shift"], x)
                h.compare(lib, case, "simd")


class PoolParams(ctypes.Structure):
    _fields_ = [("stride", h.HW), ("padding", h.HW), ("filter", h.HW), ("act_min", ctypes.c_int32),
                ("act_max", ctypes.c_int32)]


def _run_pool(lib, fn: str, x: np.ndarray, in_dims, out_dims, pp: PoolParams) -> tuple[int, np.ndarray]:
    xa = h.aligned(x)
    out = np.full(int(np.prod(out_dims)), 0x5A, np.int8)
    ctx = h.Context(None, 0, None, 0)
    rc = getattr(lib, fn)(ctypes.byref(ctx), ctypes.byref(pp), ctypes.byref(h.Dims(*in_dims)), h._ptr(xa),
                          ctypes.byref(h.Dims(*out_dims)), h._ptr(out))
    return int(rc), out


def test_simd_avgpool_matches_ref(lib):
    """AVERAGE_POOL_2D: the SXTAB16 lane sums (channels % 4 == 0, 8 or 4 channels per pass) and the ref hand-off
    (other channel counts) equal ref on random windows, strides and paddings, odd planes, global pools up to
    30x30 (runs longer than the 256 values a 16-bit lane holds), saturated inputs and activation clamps."""
    rng = np.random.default_rng(17)
    lanes = compared = 0
    for i in range(300):
        c = int(rng.choice([4, 8, 12, 16, 20, 24, 40, 64])) if i % 4 else int(rng.choice([1, 2, 3, 5, 6, 7, 10, 13]))
        ih, iw = int(rng.integers(1, 31 if i % 5 == 0 else 10)), int(rng.integers(1, 31 if i % 5 == 0 else 10))
        if i % 3 == 0:  # global pool (DS-CNN's 25x5x64 -> 1x1x64 and its cousins)
            fh, fw, sh, sw, ph, pw = ih, iw, ih, iw, 0, 0
        else:
            fh, fw = int(rng.integers(1, ih + 1)), int(rng.integers(1, iw + 1))
            sh, sw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
            ph, pw = (int(rng.integers(0, fh)), int(rng.integers(0, fw))) if i % 2 else (0, 0)
        oh, ow = (ih + 2 * ph - fh) // sh + 1, (iw + 2 * pw - fw) // sw + 1
        act = (-128, 127) if i % 3 else tuple(sorted(int(v) for v in rng.integers(-128, 128, 2)))
        kind = i % 7
        if kind == 0:
            x = np.full(ih * iw * c, -128, np.int8)
        elif kind == 1:
            x = np.full(ih * iw * c, 127, np.int8)
        else:
            x = rng.integers(-128, 128, ih * iw * c).astype(np.int8)
        pp = PoolParams(h.HW(sh, sw), h.HW(ph, pw), h.HW(fh, fw), act[0], act[1])
        in_dims, out_dims = (1, ih, iw, c), (1, oh, ow, c)
        rc_ref, want = _run_pool(lib, "nn_avgpool_s8_ref", x, in_dims, out_dims, pp)
        rc, got = _run_pool(lib, "nn_avgpool_s8_simd", x, in_dims, out_dims, pp)
        assert rc == rc_ref == 0, (i, rc, rc_ref)
        np.testing.assert_array_equal(got, want, err_msg=f"case {i}: {in_dims} filter {fh}x{fw} /{sh},{sw} "
                                                         f"pad {ph},{pw} act {act}")
        lanes += c % 4 == 0
        compared += want.size
    assert lanes > 150 and compared > 20000
    for c, fill in ((8, -128), (12, 127), (4, -128), (64, 127), (24, -128), (16, 127)):  # lane cuts at 256, 512, 768 values; extremes
        x = np.full(30 * 30 * c, fill, np.int8)
        x[::7] = rng.integers(-128, 128, x[::7].size).astype(np.int8) if c == 64 else x[::7]
        pp = PoolParams(h.HW(30, 30), h.HW(0, 0), h.HW(30, 30), -128, 127)
        want = _run_pool(lib, "nn_avgpool_s8_ref", x, (1, 30, 30, c), (1, 1, 1, c), pp)
        assert _run_pool(lib, "nn_avgpool_s8_simd", x, (1, 30, 30, c), (1, 1, 1, c), pp)[1].tolist() == \
            want[1].tolist() and want[0] == 0
    layer = kernels.KernelLayer("AVERAGE_POOL_2D", (1, 25, 5, 63), (1, 25, 5, 63), (1, 1, 1, 63), {})
    assert "simd" in kernels.eligible_backends(layer) and kernels.prepare(layer, "simd").scratch_size == 0


@pytest.mark.parametrize("case", [
    dict(in_shape=(1, 25, 5, 64), k=(25, 5), stride=(25, 5), padding="VALID"),
    dict(in_shape=(1, 13, 7, 12), k=(13, 7), stride=(13, 7), padding="VALID", act="RELU"),
    dict(in_shape=(1, 9, 7, 8), k=(3, 3), stride=(2, 2), padding="SAME", act="RELU6"),
    dict(in_shape=(1, 9, 7, 20), k=(2, 3), stride=(1, 2), padding="VALID"),
    dict(in_shape=(1, 9, 7, 6), k=(3, 2), stride=(2, 3), padding="SAME"),
], ids=["dscnn", "global-odd", "same", "valid", "ch6-ref"])
def test_simd_avgpool_identical_to_tflite_micro(case, tmp_path):
    """The simd AVERAGE_POOL_2D in an exported model equals TFLite Micro (global, valid and same padding)."""
    from test_nn_ops import check_identical, pool_model

    tflite = pool_model(np.random.default_rng(70 + case["in_shape"][3]), **case)
    assert check_identical(tflite, tmp_path, None, n_inputs=12, per_layer=True, backends=["simd"]) > 0
    assert "nn_avgpool_s8_simd" in (tmp_path / "gen" / "edgekws_model.c").read_text()


def test_scratch_and_alignment_contract(lib):
    rng = np.random.default_rng(5)
    case = h.random_conv(rng, max_hw=6)
    base = kernels.simd_conv_base_scratch(case.layer())
    assert h.run_kernel(lib, case, "simd")[0] == 0
    assert h.run_kernel(lib, case, "simd", scratch_size=base)[0] == 0
    assert h.run_kernel(lib, case, "simd", scratch_size=base - 1)[0] == -1  # NN_ERR_ARG: scratch too small
    fc = h.random_fc(rng)
    assert h.run_kernel(lib, fc, "simd", scratch_delta=-1)[0] == -1
    dw = h.random_conv(rng, depthwise=True)
    dw.params["depth_multiplier"] = 2  # the simd depthwise kernel takes depth multiplier 1 only
    assert "simd" not in kernels.eligible_backends(dw.layer())
    with pytest.raises(ModelError):
        kernels.prepare(dw.layer(), "simd")


REQ_C = r"""
#include "edgekws/nn_math.h"
#include "edgekws/nn_dsp.h"
int32_t rq_ref(int32_t x, int32_t m, int32_t s) { return nn_requantize(x, m, s); }
int32_t rq_fast(int32_t x, int32_t m, int32_t s) { return nn_requantize_fast(x, m, s); }
int32_t rq_r2(int32_t x, int32_t m, int32_t s) {
    return nn_requantize_r2(x, m, (int32_t)(1u << (-s - 2)), -s - 1);
}
uint32_t t_sxtb16(uint32_t x) { return nn_sxtb16(x); }
uint32_t t_sxtb16_ror8(uint32_t x) { return nn_sxtb16_ror8(x); }
uint32_t t_sxtab16(uint32_t a, uint32_t x) { return nn_sxtab16(a, x); }
int32_t t_smlad(uint32_t a, uint32_t b, int32_t c) { return nn_smlad(a, b, c); }
uint32_t t_pkhbt(uint32_t a, uint32_t b) { return nn_pkhbt(a, b, 16); }
uint32_t t_pkhtb(uint32_t a, uint32_t b) { return nn_pkhtb(a, b, 16); }
int32_t t_smlatb(uint32_t a, uint32_t b, int32_t c) { return nn_smlatb(a, b, c); }
"""


@pytest.fixture(scope="module")
def mathlib(tmp_path_factory, host_cc) -> ctypes.CDLL:
    del host_cc
    d = tmp_path_factory.mktemp("nnmath")
    (d / "m.c").write_text(REQ_C)
    lib = ctypes.CDLL(str(cbuild.compile_shared([d / "m.c"], d / "libm.so")))
    for name in ("rq_ref", "rq_fast", "rq_r2", "t_smlad", "t_smlatb"):
        getattr(lib, name).restype = ctypes.c_int32
        getattr(lib, name).argtypes = [ctypes.c_int32] * 3 if name.startswith("rq") else \
            [ctypes.c_uint32, ctypes.c_uint32, ctypes.c_int32]
    for name in ("t_sxtb16", "t_sxtb16_ror8", "t_sxtab16", "t_pkhbt", "t_pkhtb"):
        getattr(lib, name).restype = ctypes.c_uint32
        getattr(lib, name).argtypes = [ctypes.c_uint32] * (1 if name.startswith("t_sxtb16") else 2)
    return lib


def test_fast_requantization_is_exact(mathlib):
    """nn_requantize_fast / _r2 (one SMLAL, folded roundings) equal TFLite's double rounding everywhere."""
    rng = np.random.default_rng(0)
    xs = np.concatenate([rng.integers(-2**31, 2**31, 4000), rng.integers(-3000, 3000, 4000), rng.integers(-2**22, 2**22, 4000),
                         [0, 1, -1, 2**31 - 1, -2**31, 2**30, -2**30]])
    ms = np.concatenate([rng.integers(2**30, 2**31, 3000), [0, 2**30, 2**31 - 1]])
    n = 0
    for x in xs:
        m = int(rng.choice(ms))
        s = int(rng.integers(-31, 8))
        want = mathlib.rq_ref(int(x), m, s)
        assert mathlib.rq_fast(int(x), m, s) == want, (x, m, s)
        if -31 <= s <= -2:
            assert mathlib.rq_r2(int(x), m, s) == want, (x, m, s)
        n += 1
    # ties: x*m + 2^30 an exact multiple of 2^31 and rounding ties of the right shift
    for _ in range(3000):
        m = 2**30
        x = int(rng.integers(-5000, 5000))
        for s in (-2, -3, -7):
            assert mathlib.rq_r2(x, m, s) == mathlib.rq_ref(x, m, s)
    assert n > 10000


def _s16(v: int) -> int:
    v &= 0xFFFF
    return v - 0x10000 if v & 0x8000 else v


def _s8(v: int) -> int:
    v &= 0xFF
    return v - 0x100 if v & 0x80 else v


def test_dsp_shim_models(mathlib):
    """The host models follow the Arm ARM lane definitions."""
    rng = np.random.default_rng(1)
    for _ in range(2000):
        a, b, x = (int(v) for v in rng.integers(0, 2**32, 3, dtype=np.uint64))
        c = int(rng.integers(-2**31, 2**31))
        lanes = [(x >> (8 * i)) & 0xFF for i in range(4)]
        assert mathlib.t_sxtb16(x) == ((_s8(lanes[0]) & 0xFFFF) | ((_s8(lanes[2]) & 0xFFFF) << 16))
        assert mathlib.t_sxtb16_ror8(x) == ((_s8(lanes[1]) & 0xFFFF) | ((_s8(lanes[3]) & 0xFFFF) << 16))
        lo = (_s16(a) + _s8(lanes[0])) & 0xFFFF
        hi = (_s16(a >> 16) + _s8(lanes[2])) & 0xFFFF
        assert mathlib.t_sxtab16(a, x) == lo | (hi << 16)
        want = (c + _s16(a) * _s16(b) + _s16(a >> 16) * _s16(b >> 16)) & 0xFFFFFFFF
        assert mathlib.t_smlad(a, b, c) & 0xFFFFFFFF == want
        assert mathlib.t_smlatb(a, b, c) & 0xFFFFFFFF == (c + _s16(a >> 16) * _s16(b)) & 0xFFFFFFFF
        assert mathlib.t_pkhbt(a, b) == (a & 0xFFFF) | ((b << 16) & 0xFFFF0000)
        assert mathlib.t_pkhtb(a, b) == (a & 0xFFFF0000) | ((b >> 16) & 0xFFFF)


@pytest.mark.slow
def test_sanitizers_all_backends(tmp_path, host_cc):
    """Every fast kernel on random layers in a build with AddressSanitizer and UBSan (aborting on any report)."""
    del host_cc
    so = cbuild.compile_shared(cbuild.nn_sources(BACKENDS), tmp_path / "libasan_kernels.so",
                               flags=("-std=c11", "-Wall", "-Wextra", "-Werror", *cbuild.SANITIZE_FLAGS))
    asan = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True, text=True).stdout.strip()
    env = dict(os.environ, LD_PRELOAD=asan, ASAN_OPTIONS="detect_leaks=0:abort_on_error=1",
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1", PYTHONPATH=str(Path(__file__).parent))
    proc = subprocess.run([sys.executable, str(Path(__file__).parent / "nn_kernel_harness.py"), str(so), "60", "7"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    counts = dict(kv.split("=") for kv in proc.stdout.split())
    assert all(int(v) > 0 for v in counts.values()), counts


def test_arm_build_uses_dsp_instructions(tmp_path, arm_gcc):
    """The firmware flags (-mcpu=cortex-m7 ... -Werror) build the ACLE path, and the code really has SMLAD/SXTB16."""
    del arm_gcc
    srcs = sorted((cbuild.FIRMWARE / "src" / "nn" / "simd").glob("*.c")) + \
        sorted((cbuild.FIRMWARE / "src" / "nn" / "sparse").glob("*.c"))
    objs = cbuild.compile_arm_objects(srcs, tmp_path)
    text = {}
    for src, obj in zip(srcs, objs, strict=True):
        text[src.stem] = subprocess.run(["arm-none-eabi-objdump", "-d", str(obj)], capture_output=True,
                                        text=True, check=True).stdout
    for name in ("nn_fully_connected_s8_simd", "nn_conv2d_s8_block"):
        assert "smlad" in text[name] and "sxtb16" in text[name], name
    assert "smlad" in text["nn_conv2d_s8_simd"] and "sxtab16" in text["nn_conv2d_s8_simd"]  # int16 weights: no SXTB16
    assert "smlabb" in text["nn_depthwise_conv2d_s8_simd"] and "sxtab16" in text["nn_depthwise_conv2d_s8_simd"]
    assert "smlabb" in text["nn_conv2d_s8_wp"]
    assert "sxtab16" in text["nn_avgpool_s8_simd"]


@pytest.mark.slow
@pytest.mark.emulator
def test_device_random_layers_match_ref(tmp_path, arm_gcc, qemu_arm):
    """Random layers on the emulated Cortex-M7 (assembly inner loops included): every backend equals ref there."""
    del arm_gcc, qemu_arm
    sys.path.insert(0, str(cbuild.REPO_ROOT / "benchmarks"))
    import kernels as bench

    result = bench.device_check(bench.random_cases(seed=21, n=60), tmp_path)
    failed = [(r["layer"], r["backend"], r["rc"]) for r in result["rows"] if not r["match"] or r["rc"] != 0]
    assert result["entries"] > 250 and not failed, failed


def backends_for(tflite: bytes, choice: dict[str, str]) -> list[str]:
    """One backend per layer: choice[op] where given and eligible by op type, else ref (RESHAPE, pooling, ...)."""
    from edgekws.export.tflite_graph import read_graph

    return [choice.get(op.op, "ref") for op in read_graph(tflite).operators]


@pytest.mark.slow
def test_whole_dscnn_on_simd_identical_to_tflite_micro(tmp_path):
    """A Keras DS-CNN, int8-converted by TFLite, exported with every conv / depthwise / FC layer on simd:
    the host-built C equals TFLite Micro on random and extreme inputs, layer by layer."""
    from test_nn_models import _convert, dscnn
    from test_nn_ops import check_identical

    tflite = _convert(dscnn(channels=24, blocks=2), (49, 10, 1), seed=2)
    backends = backends_for(tflite, {"CONV_2D": "simd", "DEPTHWISE_CONV_2D": "simd", "FULLY_CONNECTED": "simd"})
    assert backends.count("simd") == 6
    assert check_identical(tflite, tmp_path, None, n_inputs=20, per_layer=True, backends=backends) > 0
    text = (tmp_path / "gen" / "edgekws_model.c").read_text()
    assert "nn_conv2d_s8_simd" in text and "nn_depthwise_conv2d_s8_simd" in text and \
        "nn_fully_connected_s8_simd" in text
