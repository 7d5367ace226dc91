"""The exporter's kernel backend registry (edgekws.export.kernels): layouts, compressed formats, contracts with C."""

from __future__ import annotations

import re

import numpy as np
import pytest

import cbuild
from edgekws.errors import ModelError
from edgekws.export import kernels
from edgekws.export.kernels import KernelLayer


def quant(rng, n: int) -> dict[str, np.ndarray]:
    """Per-channel bias / multiplier / shift (what the simd kernels' requantization table is built from)."""
    return {"bias": rng.integers(-5000, 5000, n).astype(np.int32),
            "multiplier": rng.integers(2**30, 2**31 - 1, n).astype(np.int32),
            "shift": rng.integers(-12, -4, n).astype(np.int32)}


def conv_layer(rng, oc=5, kh=3, kw=2, c=3, level=0.0, groups=1) -> KernelLayer:
    w = rng.integers(-127, 128, (oc, kh, kw, c)).astype(np.int8)
    w[rng.random(w.shape) < level] = 0
    return KernelLayer("CONV_2D", (1, 8, 8, c * groups), (oc, kh, kw, c), (1, 8, 8, oc), {"depth_multiplier": 1}, w,
                       **quant(rng, oc))


def test_every_kernel_is_declared_and_defined():
    headers = "".join((cbuild.INCLUDE / "edgekws" / f).read_text() for f in ("nn.h", "nn_simd.h", "nn_sparse.h"))
    for (op, backend), spec in kernels.REGISTRY.items():
        if backend not in kernels.BACKENDS:
            continue  # e.g. cmsisnn, registered when CMSIS-NN is configured: tests/test_nn_cmsisnn.py
        assert re.search(rf"\bint {spec.function}\(", headers), spec.function
        src_dir = cbuild.FIRMWARE / "src" / "nn" / kernels.SOURCE_DIRS[backend]
        defined = [p for p in src_dir.glob("*.c") if re.search(rf"^int {spec.function}\(", p.read_text(), re.M)]
        assert len(defined) == 1, (op, backend, spec.function)
        assert spec.member in ("conv", "fc", "pool", "add", "softmax")


def _c_macro(name: str):
    """A scratch-size macro of nn_simd.h / nn_sparse.h as a Python function of its arguments."""
    text = "".join((cbuild.INCLUDE / "edgekws" / f).read_text() for f in ("nn_simd.h", "nn_sparse.h"))
    m = re.search(rf"#define {name}\(([^)]*)\) (.+)", text)
    assert m, name
    args = [a.strip() for a in m.group(1).split(",")]
    expr = re.sub(r"(\d+)u\b", r"\1", re.sub(r"\(uint32_t\)", "", m.group(2)))
    return lambda *vals: eval(expr, {}, dict(zip(args, vals, strict=True)))  # noqa: S307 - our own header


def test_scratch_sizes_agree_with_the_c_headers():
    rng = np.random.default_rng(0)
    layer = conv_layer(rng, oc=5, kh=3, kw=3, c=7)  # K = 63 -> K4 = 64
    prep = kernels.prepare(layer, "simd")
    assert prep.scratch_size == _c_macro("NN_CONV2D_S8_SIMD_SCRATCH")(64)  # no RAM per output channel
    assert prep.aux.size == _c_macro("NN_SIMD_REQUANT_TABLE_SIZE")(5)  # the requantization table, in flash
    pw = KernelLayer("CONV_2D", (1, 25, 5, 64), (64, 1, 1, 64), (1, 25, 5, 64), {"stride": (1, 1), "padding": (0, 0)},
                     rng.integers(-127, 128, (64, 1, 1, 64)).astype(np.int8), **quant(rng, 64))
    assert kernels.prepare(pw, "simd").scratch_size == 0  # nn_conv2d_1x1_s8_simd: its columns on the stack
    pw_wide = KernelLayer("CONV_2D", (1, 5, 5, 68), (8, 1, 1, 68), (1, 5, 5, 8), {"stride": (1, 1), "padding": (0, 0)},
                          rng.integers(-127, 128, (8, 1, 1, 68)).astype(np.int8), **quant(rng, 8))
    assert kernels.prepare(pw_wide, "simd").scratch_size == _c_macro("NN_CONV2D_S8_SIMD_SCRATCH_1X1")(68) == 272
    for b in ("wp", "block"):
        assert kernels.prepare(layer, b).scratch_size == _c_macro("NN_CONV2D_S8_SPARSE_SCRATCH")(64, 5)
    fc = KernelLayer("FULLY_CONNECTED", (1, 1, 1, 30), (4, 1, 1, 30), (1, 1, 1, 4), {},
                     rng.integers(-127, 128, (4, 30)).astype(np.int8))
    assert kernels.prepare(fc, "simd").scratch_size == _c_macro("NN_FULLY_CONNECTED_S8_SIMD_SCRATCH")(32)
    assert kernels.prepare(fc, "wp").scratch_size == _c_macro("NN_CONV2D_S8_SPARSE_SCRATCH")(32, 4)
    assert kernels.prepare(fc, "ref").scratch_size == 0
    dw = KernelLayer("DEPTHWISE_CONV_2D", (1, 5, 5, 6), (1, 3, 3, 6), (1, 5, 5, 6), {"depth_multiplier": 1},
                     rng.integers(-127, 128, (1, 3, 3, 6)).astype(np.int8), **quant(rng, 6))
    assert kernels.prepare(dw, "simd").scratch_size == 0
    assert kernels.prepare(dw, "simd").aux.size == _c_macro("NN_SIMD_REQUANT_TABLE_SIZE")(6)
    text = (cbuild.INCLUDE / "edgekws" / "nn_sparse.h").read_text()
    assert f"#define NN_SPARSE_MAX_K4 {kernels.SPARSE_MAX_K4}" in text
    assert f"#define NN_SPARSE_PIXELS {kernels.SPARSE_PIXELS}" in text
    assert f"#define NN_DEPTHWISE_SIMD_MAX_TAPS {kernels.DEPTHWISE_SIMD_MAX_TAPS}" in \
        (cbuild.INCLUDE / "edgekws" / "nn_simd.h").read_text()


@pytest.mark.parametrize("oc", [1, 2, 5, 8])
def test_simd_conv_layout_is_doubled_int16_in_the_blocks_read_order(oc):
    rng = np.random.default_rng(oc)
    layer = conv_layer(rng, oc=oc, kh=1, kw=3, c=3)  # K = 9 -> K4 = 12
    out = kernels.prepare(layer, "simd").weights
    oc4 = (oc + 3) // 4 * 4
    assert out.dtype == np.int8 and out.size == 2 * oc4 * 12  # int16, channels padded to a multiple of 4
    w16 = out.view("<i2").reshape(oc4 // 4, 6, 4, 2)  # [channel group][k pair][channel][2]
    rows = w16.transpose(0, 2, 1, 3).reshape(oc4, 3, 2, 2)  # [channel][group of 4 k][pair][2]
    rows = rows.transpose(0, 1, 3, 2).reshape(oc4, 12)  # pairs (k0, k2), (k1, k3) -> k0 k1 k2 k3
    assert np.all(rows % 2 == 0)
    np.testing.assert_array_equal(rows[:oc, :9] // 2, layer.weights.reshape(oc, 9))
    assert not rows[:, 9:].any() and not rows[oc:].any()


def test_simd_requant_table_and_its_guards():
    """{2*bias, mult, rd, R}: the fast path only where the clamp hides the dropped rounding correction."""
    rng = np.random.default_rng(9)
    layer = conv_layer(rng, oc=3)
    relu = dict(layer.params, output_offset=-128, act_min=-128, act_max=127)
    shift = np.array([-5, 1, -30], np.int32)
    layer = KernelLayer(layer.op, layer.in1_dims, layer.filter_dims, layer.out_dims, relu, layer.weights,
                        layer.bias, layer.multiplier, shift)
    t = kernels.prepare(layer, "simd").aux.view("<i4").reshape(4, 4)
    np.testing.assert_array_equal(t[:3, 0], 2 * layer.bias)
    assert list(t[0, 2:]) == [16 - 128 * 32, 5]  # 2^(R-1) + out_offset * 2^R, R
    assert list(t[1, 2:]) == [1, -1] and list(t[2, 2:]) == [-30, -1]  # left shift, R too large: general path
    assert not t[3].any()  # padding row
    no_relu = dict(relu, output_offset=3)  # act_min -128 < zero point 3: the rounding correction matters
    layer = KernelLayer(layer.op, layer.in1_dims, layer.filter_dims, layer.out_dims, no_relu, layer.weights,
                        layer.bias, layer.multiplier, shift)
    assert (kernels.prepare(layer, "simd").aux.view("<i4").reshape(4, 4)[:3, 3] == -1).all()
    huge = KernelLayer(layer.op, layer.in1_dims, layer.filter_dims, layer.out_dims, no_relu, layer.weights,
                       np.full(3, 2**30 - 10, np.int32), layer.multiplier, shift)
    assert "simd" not in kernels.eligible_backends(huge)  # twice the accumulator would overflow int32


def test_wp_records_decode_to_the_weights():
    rng = np.random.default_rng(1)
    layer = conv_layer(rng, oc=6, level=0.7)
    prep = kernels.prepare(layer, "wp")
    recs = prep.weights.view("<u4")
    row_ptr, stored = prep.aux.view("<u4")[:-1], prep.aux.view("<u4")[-1]
    assert row_ptr.size == 7 and row_ptr[-1] == stored == recs.size == np.count_nonzero(layer.weights)
    rows = np.zeros((6, 18), np.int32)
    for oc in range(6):
        for r in recs[row_ptr[oc]:row_ptr[oc + 1]]:
            k = (int(r) >> 16) // (2 * kernels.SPARSE_PIXELS)
            rows[oc, k] = np.int16(np.uint16(int(r) & 0xFFFF))
    np.testing.assert_array_equal(rows, layer.weights.reshape(6, 18))


def test_block_records_decode_to_the_weights():
    rng = np.random.default_rng(2)
    layer = conv_layer(rng, oc=4, kh=1, kw=1, c=13)
    w = layer.weights.reshape(4, 13).copy()
    w[:, 4:8] = 0
    w[1, :] = 0
    layer = KernelLayer(layer.op, layer.in1_dims, layer.filter_dims, layer.out_dims, layer.params, w.reshape(4, 1, 1, 13))
    prep = kernels.prepare(layer, "block")
    words = prep.weights.view("<u4").reshape(-1, 2)
    row_ptr = prep.aux.view("<u4")[:-1] // 2  # the last word is the stored word count
    assert list(np.diff(row_ptr)) == [3, 0, 3, 3]  # blocks 0, 2, 3 (the last one padded), none in the zero row
    rows = np.zeros((4, 16), np.int8)
    for oc in range(4):
        for wword, off in words[row_ptr[oc]:row_ptr[oc + 1]]:
            kb = int(off) // (2 * 4 * kernels.SPARSE_PIXELS)
            rows[oc, 4 * kb:4 * kb + 4] = np.array([wword], "<u4").view(np.int8)[[0, 2, 1, 3]]
    np.testing.assert_array_equal(rows[:, :13], w)


def test_depthwise_wp_records_decode_to_the_weights():
    rng = np.random.default_rng(6)
    w = rng.integers(-127, 128, (1, 3, 3, 5)).astype(np.int8)
    w[rng.random(w.shape) < 0.7] = 0
    layer = KernelLayer("DEPTHWISE_CONV_2D", (1, 6, 4, 5), (1, 3, 3, 5), (1, 6, 4, 5),
                        {"depth_multiplier": 1, "stride": (1, 1), "dilation": (1, 1)}, w)
    prep = kernels.prepare(layer, "wp")
    recs, row_ptr = prep.weights.view("<u4"), prep.aux.view("<u4")[:-1]
    wp = 4 + 2  # padded width: (out_w - 1) * stride + (kw - 1) * dilation + 1
    assert prep.scratch_size == 20 * 5 + (6 + 2) * wp * 5
    got = np.zeros((9, 5), np.int32)
    for ch in range(5):
        for r in recs[row_ptr[ch]:row_ptr[ch + 1]]:
            off = (int(r) >> 16) // 5
            got[(off // wp) * 3 + off % wp, ch] = np.int16(np.uint16(int(r) & 0xFFFF))
    np.testing.assert_array_equal(got, w.reshape(9, 5))


def test_eligible_backends(monkeypatch):
    for key in [k for k in kernels.REGISTRY if k[1] not in kernels.BACKENDS]:
        monkeypatch.delitem(kernels.REGISTRY, key)  # only this module's own backends here
    rng = np.random.default_rng(3)
    assert kernels.eligible_backends(conv_layer(rng)) == ["ref", "simd", "skipzero", "wp", "block"]
    grouped = conv_layer(rng, c=2, groups=2)
    assert kernels.eligible_backends(grouped) == ["ref", "skipzero"]
    dw = KernelLayer("DEPTHWISE_CONV_2D", (1, 5, 5, 4), (1, 3, 3, 4), (1, 5, 5, 4), {"depth_multiplier": 1},
                     rng.integers(-127, 128, (1, 3, 3, 4)).astype(np.int8), **quant(rng, 4))
    assert kernels.eligible_backends(dw) == ["ref", "simd", "skipzero", "wp"]
    dw2 = KernelLayer(dw.op, (1, 5, 5, 2), dw.filter_dims, dw.out_dims, {"depth_multiplier": 2}, dw.weights)
    assert kernels.eligible_backends(dw2) == ["ref", "skipzero"]
    big = KernelLayer("FULLY_CONNECTED", (1, 1, 1, 9000), (2, 1, 1, 9000), (1, 1, 1, 2), {},
                      np.ones((2, 9000), np.int8))
    assert kernels.eligible_backends(big) == ["ref", "simd", "skipzero"]
    pool = KernelLayer("AVERAGE_POOL_2D", (1, 4, 4, 2), (0, 0, 0, 0), (1, 2, 2, 2), {})
    assert kernels.eligible_backends(pool) == ["ref", "simd"]  # simd hands channels % 4 != 0 to ref in C
    assert kernels.prepare(pool, "ref").weights is None and kernels.prepare(pool, "simd").scratch_size == 0
    maxpool = KernelLayer("MAX_POOL_2D", (1, 4, 4, 2), (0, 0, 0, 0), (1, 2, 2, 2), {})
    assert kernels.eligible_backends(maxpool) == ["ref"]


def test_unknown_or_ineligible_backend_is_a_one_line_model_error():
    rng = np.random.default_rng(4)
    with pytest.raises(ModelError, match="no 'nosuch' kernel for CONV_2D") as e:
        kernels.prepare(conv_layer(rng), "nosuch")
    assert "\n" not in str(e.value)
    with pytest.raises(ModelError, match="cannot run"):
        kernels.prepare(conv_layer(rng, c=2, groups=2), "simd")
    with pytest.raises(ModelError, match="weights have"):
        bad = conv_layer(rng)
        kernels.prepare(KernelLayer(bad.op, bad.in1_dims, bad.filter_dims, bad.out_dims, bad.params,
                                    bad.weights.reshape(-1)[:-3]), "wp")


def test_sparsity_stats():
    rng = np.random.default_rng(5)
    layer = conv_layer(rng, oc=4, kh=1, kw=1, c=8)
    w = layer.weights.reshape(4, 8).copy()
    w[:, :4] = 0
    stats = kernels.sparsity_stats(KernelLayer(layer.op, layer.in1_dims, layer.filter_dims, layer.out_dims,
                                               layer.params, w.reshape(4, 1, 1, 8)))
    assert stats["block4"] == 0.5 and stats["element"] >= 0.5
