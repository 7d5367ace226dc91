"""Kernel backend registry: what the exporter emits for a layer on a given backend.

Why here and not in the firmware: the host knows every shape and every weight
at export time, so all work that does not depend on the input (re-ordering
weights for SXTB16, compressing sparse weights into records, sizing scratch)
is done once on the host, and the device only runs MACs. Each (op, backend)
has a :class:`KernelSpec`: the C function, a weight re-layout, an aux-data
builder and a scratch-size rule; :func:`prepare` applies them to one layer and
:func:`eligible_backends` says which backends can run a layer at all (the
autotuner picks among those by measured instruction counts).

The C side of each contract is in firmware/include/edgekws/nn_simd.h and
nn_sparse.h; tests/test_kernels_registry.py and tests/test_nn_{simd,sparse}.py
check that both sides agree, bit for bit with the ref kernels.

Weight layouts in (TFLite): CONV_2D ``[out_c, kh, kw, in_c]``, DEPTHWISE_CONV_2D
``[1, kh, kw, out_c]``, FULLY_CONNECTED ``[units, depth]``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from edgekws.errors import ModelError

BACKENDS = ("ref", "simd", "skipzero", "wp", "block")
SPARSE_BACKENDS = ("skipzero", "wp", "block")
# firmware/src/nn/<dir> holding each backend's kernels (cbuild.nn_sources / the firmware build glob these).
SOURCE_DIRS = {"ref": "ref", "simd": "simd", "skipzero": "sparse", "wp": "sparse", "block": "sparse"}

# Limits that mirror the C headers (nn_simd.h, nn_sparse.h).
# NN_SIMD_LAYOUT_VERSION: the simd kernels' weight / aux layouts; generated C checks it (codegen_c.backend_includes).
SIMD_LAYOUT_VERSION = 1
DEPTHWISE_SIMD_MAX_TAPS = 64
SPARSE_PIXELS = 4
SPARSE_MAX_K4 = 8192

WEIGHT_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
_STEMS = {"CONV_2D": ("conv", "conv2d"), "DEPTHWISE_CONV_2D": ("conv", "depthwise_conv2d"),
          "FULLY_CONNECTED": ("fc", "fully_connected"), "AVERAGE_POOL_2D": ("pool", "avgpool"),
          "MAX_POOL_2D": ("pool", "maxpool"), "ADD": ("add", "add"), "SOFTMAX": ("softmax", "softmax")}


class LayerLike(Protocol):
    """What the registry reads from a layer (codegen_c.LayerC has these attributes)."""

    op: str
    in1_dims: tuple[int, int, int, int]
    filter_dims: tuple[int, int, int, int]
    out_dims: tuple[int, int, int, int]
    params: dict[str, Any]
    weights: np.ndarray | None


@dataclass(frozen=True)
class KernelLayer:
    """A minimal :class:`LayerLike` for tests and tools (dims are NHWC, filter as in nn.h).

    ``bias``, ``multiplier`` and ``shift`` (per output channel, as codegen_c.LayerC has them) are needed by
    the kernels whose per-channel requantization table the exporter builds into flash (simd conv and
    depthwise); the other kernels read them from the layer table at run time.
    """

    op: str
    in1_dims: tuple[int, int, int, int]
    filter_dims: tuple[int, int, int, int]
    out_dims: tuple[int, int, int, int]
    params: dict[str, Any]
    weights: np.ndarray | None = None
    bias: np.ndarray | None = None
    multiplier: np.ndarray | None = None
    shift: np.ndarray | None = None


@dataclass(frozen=True)
class PreparedKernel:
    """Everything the layer table needs for one layer on one backend."""

    backend: str
    member: str  # nn_layer_t.kernel union member: conv / fc / pool / add / softmax
    function: str  # C entry point
    weights: np.ndarray | None  # int8, the layout the kernel reads (emit 4-byte aligned)
    aux: np.ndarray | None  # uint8 bytes of 4-byte-aligned constant data (ctx->aux), or None
    scratch_size: int  # bytes of 4-byte-aligned arena scratch (ctx->scratch)


Relayout = Callable[[np.ndarray, LayerLike], np.ndarray]
AuxBuilder = Callable[[np.ndarray, LayerLike], "np.ndarray | None"]
Eligible = Callable[[LayerLike], bool]


@dataclass(frozen=True)
class KernelSpec:
    """One (op, backend) row of the registry."""

    op: str
    backend: str
    member: str
    function: str
    relayout: Relayout | None = None  # None: TFLite layout as is
    aux: AuxBuilder | None = None
    scratch: Callable[[LayerLike], int] | None = None
    eligible: Eligible | None = None  # None: always


# ----------------------------------------------------------------------------- shapes


def k_taps(layer: LayerLike) -> int:
    """Length of one filter row as the kernels see it (kh*kw*c for a conv, depth for FC)."""
    _, kh, kw, c = layer.filter_dims
    return int(kh * kw * c)


def round4(n: int) -> int:
    return (int(n) + 3) & ~3


def _rows(weights: np.ndarray, layer: LayerLike) -> np.ndarray:
    """Weights as [out_channels, K] int8 (conv: [fy][fx][c] per row; FC: depth)."""
    n = layer.filter_dims[0]
    w = np.asarray(weights, dtype=np.int8)
    if w.size != n * k_taps(layer):
        raise ModelError(f"{layer.op} weights have {w.size} values, filter dims {layer.filter_dims} need "
                         f"{n * k_taps(layer)}")
    return w.reshape(n, k_taps(layer))


def _pad_k4(rows: np.ndarray) -> np.ndarray:
    k = rows.shape[1]
    return np.pad(rows, ((0, 0), (0, round4(k) - k)))


# SXTB16 takes bytes (0, 2), SXTB16 ROR 8 bytes (1, 3): storing [w0 w2 w1 w3] yields (w0, w1), (w2, w3),
# the natural order of the int16 columns the kernels build.
_SXTB16_ORDER = np.array([0, 2, 1, 3])


def _sxtb16_order(rows4: np.ndarray) -> np.ndarray:
    n, k4 = rows4.shape
    return rows4.reshape(n, k4 // 4, 4)[:, :, _SXTB16_ORDER].reshape(n, k4)


# ----------------------------------------------------------------------------- simd


def relayout_simd_rows(weights: np.ndarray, layer: LayerLike) -> np.ndarray:
    """simd conv / FC: rows padded to K4, each group of 4 as [w0 w2 w1 w3]."""
    return _sxtb16_order(_pad_k4(_rows(weights, layer))).reshape(-1).astype(np.int8)


def relayout_simd_conv(weights: np.ndarray, layer: LayerLike) -> np.ndarray:
    """simd conv: the weights pre-widened to int16 (flash, not RAM) in the order the 2-pixel x 4-channel
    block of nn_conv2d_s8_simd reads them.

    Rows are padded to K4 and the output channels to a multiple of 4 (zero rows, never stored). Per group
    of 4 channels and per k pair, the four channels' pairs follow each other (two LDRDs fetch them); the
    pairs of each group of 4 k are (k0, k2) then (k1, k3), the order in which SXTAB16 and SXTAB16 ROR 8
    widen 4 input bytes, so the kernel's columns need no re-packing. Returned as the int8 view of the
    little-endian int16 words (2 bytes per weight). Stored doubled (|2w| <= 256 fits int16): the kernel's
    accumulator is then twice the sum, which the one-SMMLAR requantization wants (simd_requant_table).
    """
    if simd_conv_3x2(layer):
        return _relayout_simd_conv_3x2(weights, layer)
    rows = 2 * _sxtb16_order(_pad_k4(_rows(weights, layer))).astype(np.int16)
    n, k4 = rows.shape
    n4 = round4(n)
    rows = np.concatenate([rows, np.zeros((n4 - n, k4), np.int16)])
    grouped = rows.reshape(n4 // 4, 4, k4 // 2, 2).transpose(0, 2, 1, 3).reshape(-1)
    return np.ascontiguousarray(grouped.astype("<i2")).view(np.int8).copy()


def simd_direct_1x1(layer: LayerLike) -> bool:
    """The conv's columns are its input pixels (1x1, stride 1, no padding, channels a multiple of 4): the
    kernel widens them straight from the input, with no im2col column (the C test is the same)."""
    _, kh, kw, c = layer.filter_dims
    stride = tuple(layer.params.get("stride", (1, 1)))
    padding = tuple(layer.params.get("padding", (0, 0)))
    same_hw = tuple(layer.in1_dims[1:3]) == tuple(layer.out_dims[1:3])
    return (kh, kw) == (1, 1) and stride == (1, 1) and padding == (0, 0) and c % 4 == 0 and same_hw


# Largest K4 of the 3-pixel x 2-channel 1x1 kernel (nn_conv2d_1x1_s8_simd): its columns live on the stack
# (6 * K4 bytes) and its unrolled block holds K4 / 2 - 1 k pairs (NN_CONV2D_1X1_S8_SIMD_MAX_K4).
SIMD_1X1_MAX_K4 = 64


def simd_conv_1x1_3x2(layer: LayerLike) -> bool:
    """The conv runs nn_conv2d_1x1_s8_simd (a direct 1x1 with K4 <= SIMD_1X1_MAX_K4; the C test is the same):
    its weights take _relayout_simd_conv_3x2's layout and it needs no scratch."""
    return simd_direct_1x1(layer) and round4(k_taps(layer)) <= SIMD_1X1_MAX_K4


def simd_conv_3x2(layer: LayerLike) -> bool:
    """The conv runs the 3-pixel x 2-channel block (nn_simd_block3x2): nn_conv2d_1x1_s8_simd, or
    nn_conv2d_rows4_s8_simd for filter rows of one word (f_w * c == 4, dilation 1, input rows of 4 bytes or
    more, K4 <= SIMD_1X1_MAX_K4: DS-CNN's first conv). The C tests in nn_conv2d_s8_simd are the same."""
    _, kh, kw, c = layer.filter_dims
    dilation = tuple(layer.params.get("dilation", (1, 1)))
    rows4 = kw * c == 4 and dilation == (1, 1) and layer.in1_dims[2] * c >= 4 and 4 * kh <= SIMD_1X1_MAX_K4
    return simd_conv_1x1_3x2(layer) or rows4


def _relayout_simd_conv_3x2(weights: np.ndarray, layer: LayerLike) -> np.ndarray:
    """nn_conv2d_1x1_s8_simd's weights: one record per pair of output channels (padded to an even count with
    zero channels, never stored), in the order its 3-pixel x 2-channel block reads them, so that a single
    pointer walks the whole layer: int32 {2*bias0, 2*bias1} (one LDRD seeds the accumulators), then per k pair
    the two channels' doubled int16 pairs (one LDRD per 6 SMLADs; SXTAB16 pair order as relayout_simd_conv),
    then int32 {mult, rd, R} of channel 0 and of channel 1 (one LDM each: simd_requant_table's rows)."""
    rows = 2 * _sxtb16_order(_pad_k4(_rows(weights, layer))).astype(np.int16)
    n, k4 = rows.shape
    n2 = n + (n & 1)
    rows = np.concatenate([rows, np.zeros((n2 - n, k4), np.int16)])
    table = np.frombuffer(simd_requant_table(weights, layer).tobytes(), "<i4").reshape(-1, 4)
    out = bytearray()
    for g in range(n2 // 2):
        out += table[2 * g:2 * g + 2, 0].astype("<i4").tobytes()
        pairs = rows[2 * g:2 * g + 2].reshape(2, k4 // 2, 2).transpose(1, 0, 2)
        out += np.ascontiguousarray(pairs.astype("<i2")).tobytes()
        out += table[2 * g:2 * g + 2, 1:4].astype("<i4").tobytes()
    return np.frombuffer(bytes(out), np.int8).copy()


def _scratch_simd_conv(layer: LayerLike) -> int:
    """NN_CONV2D_S8_SIMD_SCRATCH(k4) / _1X1(k4): the two interleaved int16 columns of a 2-pixel block
    (4*K4 bytes), plus one plain im2col column (2*K4) unless the columns are the input pixels. Weights and
    the requantization table are in flash, so nothing scales with the output channels."""
    k4 = round4(k_taps(layer))
    if simd_conv_3x2(layer):  # the 3x2 block's columns are on the stack
        return 0
    return 4 * k4 if simd_direct_1x1(layer) else 6 * k4


def simd_conv_base_scratch(layer: LayerLike) -> int:
    """The least scratch the simd conv runs with (the only size it has; kept for the kernel benchmarks)."""
    return _scratch_simd_conv(layer)


def _quant_of(layer: LayerLike) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    mult, shift = getattr(layer, "multiplier", None), getattr(layer, "shift", None)
    n = int(layer.out_dims[3])
    if mult is None or shift is None:
        raise ModelError(f"the simd {layer.op} kernel needs the layer's per-channel requantization "
                         "(multiplier, shift) at export time")
    mult, shift = np.asarray(mult, np.int64).reshape(-1), np.asarray(shift, np.int64).reshape(-1)
    bias = getattr(layer, "bias", None)
    bias = None if bias is None else np.asarray(bias, np.int64).reshape(-1)
    if mult.size != n or shift.size != n or (bias is not None and bias.size != n):
        raise ModelError(f"{layer.op}: {n} output channels but {mult.size} multipliers, {shift.size} shifts, "
                         f"{'no' if bias is None else bias.size} biases")
    return bias, mult, shift


# Right shifts R the fast requantization takes: 2^(R-1) + out_offset * 2^R must fit int32 with room for the
# SMMLAR result (|r| < 2^30), and R >= 1 for the rounding term.
SIMD_FAST_MAX_RSHIFT = 21


def simd_requant_table(weights: np.ndarray, layer: LayerLike) -> np.ndarray:
    """ctx->aux of the simd conv and depthwise (nn_chq_t in nn_simd_common.h): per output channel, padded to
    a multiple of 4 with zero rows, four int32 {2*bias, multiplier, rd, R}.

    The kernels accumulate twice the true sum (the conv's int16 weights are stored doubled), so that one
    SMMLAR + ASR requantizes: SMMLAR(2x, m, rd) = rd + floor((x*m + 2^30) / 2^31), which is TFLite's
    SaturatingRoundingDoublingHighMul (see nn_requantize_fast), and with rd = 2^(R-1) + out_offset*2^R the
    ASR by R adds the rounding of RoundingDivideByPOT and the output offset. That rounding omits the
    "half away from zero" correction for negative values, which only moves values that are already below
    the output zero point; when act_min >= out_offset (every ReLU) the clamp maps both to act_min, so the
    result is bit-exact. Channels that cannot take it (left shifts, R > SIMD_FAST_MAX_RSHIFT, an activation
    floor below the zero point) get R = -1 and rd = the shift: the kernels then halve the accumulator and
    take the general requantization. Built once here instead of per call in RAM.
    """
    del weights
    bias, mult, shift = _quant_of(layer)
    n = mult.size
    out_offset = int(layer.params.get("output_offset", 0))
    fast_layer = int(layer.params.get("act_min", -128)) >= out_offset
    table = np.zeros((round4(n), 4), np.int64)
    table[:n, 0] = 0 if bias is None else 2 * bias
    table[:n, 1] = mult
    for oc in range(n):
        r = -int(shift[oc])
        if fast_layer and 1 <= r <= SIMD_FAST_MAX_RSHIFT:
            table[oc, 2] = (1 << (r - 1)) + out_offset * (1 << r)
            table[oc, 3] = r
        else:
            table[oc, 2] = int(shift[oc])
            table[oc, 3] = -1
    if np.any(np.abs(table) >= 2**31):
        raise ModelError(f"{layer.op}: a bias does not fit the simd kernels' doubled accumulator")
    return _u32_bytes(table.astype(np.int32).view(np.uint32).reshape(-1))


def simd_accumulator_fits(layer: LayerLike) -> bool:
    """Whether twice the largest possible accumulator (|bias| + sum |w| * max |x + input_offset|, per output
    channel) fits int32: the simd conv and depthwise accumulate doubled sums (simd_requant_table)."""
    if layer.weights is None:
        return True
    w = np.abs(np.asarray(layer.weights, np.int64))
    n = int(layer.out_dims[3])
    per_ch = w.reshape(-1, n).sum(axis=0) if layer.op == "DEPTHWISE_CONV_2D" else w.reshape(n, -1).sum(axis=1)
    off = int(layer.params.get("input_offset", 0))
    x_max = max(abs(-128 + off), abs(127 + off))
    bias = getattr(layer, "bias", None)
    b = np.zeros(n, np.int64) if bias is None else np.abs(np.asarray(bias, np.int64).reshape(-1))
    if per_ch.size != n or b.size != n:
        return False
    return bool(np.all(b + per_ch * x_max < 2**30))


def _scratch_simd_fc(layer: LayerLike) -> int:
    return 4 * round4(k_taps(layer))  # NN_FULLY_CONNECTED_S8_SIMD_SCRATCH


def simd_dw3x3(layer: LayerLike) -> bool:
    """The simd depthwise kernel's 3x3 path (the C test is the same): 3x3, stride 1, dilation 1, padding left 1
    and top 0 or 1, channels a multiple of 4, output as wide as the input and as high as the taps reach (top 1:
    "same", as high as the input; top 0: "valid in time", 2 rows fewer, as the streaming models have it)."""
    _, kh, kw, c = layer.filter_dims
    pad = tuple(layer.params.get("padding", (0, 0)))
    ih, iw = int(layer.in1_dims[1]), int(layer.in1_dims[2])
    oh, ow = int(layer.out_dims[1]), int(layer.out_dims[2])
    return ((kh, kw) == (3, 3) and tuple(layer.params.get("stride", (1, 1))) == (1, 1)
            and tuple(layer.params.get("dilation", (1, 1))) == (1, 1) and pad[1] == 1 and pad[0] in (0, 1)
            and c % 4 == 0 and ow == iw and oh == ih - 2 + 2 * pad[0] and oh >= 1
            and int(layer.in1_dims[3]) == c and int(layer.out_dims[3]) == c)


# The fixed right shifts of the 3x3 path's assembly (nn_depthwise_conv2d_s8_simd.c, one copy each: SSAT takes its
# shift as an immediate); a channel whose shift R is 1..6 below one of them takes it with weights and bias scaled
# by 2^(SH - R). Table rows of those channels say so with R = DW3_SH_CODE + SH.
DW3_SH = (7, 13, 19)
DW3_SH_CODE = 64
DW3_MAX_SCALE = 6  # 2^(6 + 1) * 128 fits int16


def _dw3_sums(weights: np.ndarray, layer: LayerLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per channel of the 3x3 path: the bias with the input offset folded in (for every tap: [0]; without the
    left or the right tap column, which the border output columns skip: [1], [2]), and a bound on every
    partial sum from them (raw int8 inputs and the zero-point padding are in [-128, 127])."""
    c = int(layer.filter_dims[3])
    w = np.asarray(weights, np.int64).reshape(3, 3, c)
    bias = getattr(layer, "bias", None)
    bias = np.zeros(c, np.int64) if bias is None else np.asarray(bias, np.int64).reshape(-1)
    io = int(layer.params.get("input_offset", 0))
    base = bias + io * w.sum(axis=(0, 1))
    bases = np.stack([base, base - io * w[:, 0].sum(axis=0), base - io * w[:, 2].sum(axis=0)])
    return bases, np.abs(bases).max(axis=0) + 128 * np.abs(w).sum(axis=(0, 1)), w


def _dw3_plan(weights: np.ndarray, layer: LayerLike) -> tuple[np.ndarray, np.ndarray]:
    """(per-channel weight scale k, table rows) of the 3x3 path: see simd_dw3_table."""
    _, mult, shift = _quant_of(layer)
    c = mult.size
    bases, amax, _ = _dw3_sums(weights, layer)
    base = bases[0]
    out_offset = int(layer.params.get("output_offset", 0))
    fast_layer = int(layer.params.get("act_min", -128)) >= out_offset
    scale = np.zeros(c, np.int64)
    rows = np.zeros((round4(c), 4), np.int64)
    for ch in range(c):
        r = -int(shift[ch])
        rd = (1 << (r - 1)) + out_offset * (1 << r) if r >= 1 else 0
        sh = next((s for s in DW3_SH if 1 <= s - r <= DW3_MAX_SCALE), None)
        if fast_layer and r >= 1 and sh is not None and (amax[ch] << (sh - r + 1)) < 2**31:
            k = sh - r
            scale[ch] = k
            # SMMLA (no rounding) + rd * 2^k + 2^(k-1) == SMMLAR + rd on the 2^k-times-larger sum, exactly
            rows[ch] = ((base[ch] << (k + 1)), mult[ch], (rd << k) + (1 << (k - 1)), DW3_SH_CODE + sh)
        elif fast_layer and 1 <= r <= SIMD_FAST_MAX_RSHIFT:
            rows[ch] = (2 * base[ch], mult[ch], rd, r)
        else:
            rows[ch] = (2 * base[ch], mult[ch], int(shift[ch]), -1)
    if np.any(np.abs(rows) >= 2**31) or np.any(2 * amax >= 2**31):
        raise ModelError(f"{layer.op}: a bias does not fit the simd depthwise kernel's doubled accumulator")
    return scale, rows


def simd_dw3_table(weights: np.ndarray, layer: LayerLike) -> np.ndarray:
    """ctx->aux of the simd depthwise kernel: simd_requant_table, except on the 3x3 path, whose rows
    {bias, multiplier, rd, R} (nn_chq_t) are per channel, in the units of its scaled int16 weights:

    - bias: 2^(k+1) * (bias + input_offset * sum of the 9 weights): the kernel reads raw int8 inputs and pads with
      the input zero point, whose product with a weight the folded offset cancels (TFLite's skipped tap);
    - R = DW3_SH_CODE + SH (SH one of DW3_SH, k = SH - shift in 1..6): out = SSAT8((SMMLA(acc, m, rd)) >> SH)
      with rd = rd0 * 2^k + 2^(k-1), rd0 = 2^(shift-1) + out_offset * 2^shift: floor((2^k * (2x*m + rd0*2^32 +
      2^31)) / 2^(32+SH)) is the SMMLAR + ASR of simd_requant_table, so it is exact where that one is;
    - R in 1..21 (k = 0): simd_requant_table's SMMLAR row; R = -1 (k = 0): the general requantization.
    """
    if not simd_dw3x3(layer):
        return simd_requant_table(weights, layer)
    return _u32_bytes(_dw3_plan(weights, layer)[1].astype(np.int32).view(np.uint32).reshape(-1))


def relayout_simd_dw(weights: np.ndarray, layer: LayerLike) -> np.ndarray:
    """simd depthwise: TFLite's [1, kh, kw, C] int8 as is, except on the 3x3 path: per channel 12 words, first 10
    of int16 pairs, the weights times 2^(k+1) (simd_dw3_table's scale): V[fx] = (w[0][fx], w[1][fx]) and
    U[fx] = (w[1][fx], w[2][fx]), as V0 U0 V1 U1 V2 U2 V0 U0 V1 U1, the vertical tap pairs its SMLADs take down
    the input columns (the repeated 4 make every rotation of the ring's 3 columns 6 consecutive words, one LDM);
    then the int32 biases of the left and right border columns, whose padding taps the kernel skips (the table's
    bias plus the input zero point times the skipped column's weights)."""
    w = np.asarray(weights, dtype=np.int8)
    if not simd_dw3x3(layer):
        return w.reshape(-1)
    c = int(layer.filter_dims[3])
    scale, _ = _dw3_plan(weights, layer)
    bases, _, _ = _dw3_sums(weights, layer)
    taps = w.reshape(3, 3, c).astype(np.int64) << (scale + 1)  # [dy][dx][ch]
    v = np.stack([taps[0], taps[1]], axis=-1)  # [dx][ch][2]
    u = np.stack([taps[1], taps[2]], axis=-1)
    pairs = np.stack([v[0], u[0], v[1], u[1], v[2], u[2], v[0], u[0], v[1], u[1]], axis=1)  # [ch][10][2]
    words = np.ascontiguousarray(pairs.astype("<i2")).view("<u4").reshape(c, 10)
    border = (bases[1:].T << (scale[:, None] + 1)).astype("<i4").view("<u4")  # [ch][left, right]
    return _u32_bytes(np.concatenate([words, border], axis=1).reshape(-1)).view(np.int8)


def _scratch_simd_dw(layer: LayerLike) -> int:
    """NN_DEPTHWISE_S8_SIMD_SCRATCH_3X3(out_h) on the 3x3 path (a ring of 3 input columns of one channel,
    (out_h + 1) / 2 + 1 words of two int16 each: 168 bytes for DS-CNN-S), else none."""
    return ((int(layer.out_dims[1]) + 1) // 2 + 1) * 12 if simd_dw3x3(layer) else 0


def _conv_ungrouped(layer: LayerLike) -> bool:
    return layer.filter_dims[3] == layer.in1_dims[3] and layer.filter_dims[0] == layer.out_dims[3]


def _conv_simd_ok(layer: LayerLike) -> bool:
    return _conv_ungrouped(layer) and simd_accumulator_fits(layer)


def _dw_simd_ok(layer: LayerLike) -> bool:
    _, kh, kw, _ = layer.filter_dims
    return (int(layer.params.get("depth_multiplier", 1)) == 1 and kh * kw <= DEPTHWISE_SIMD_MAX_TAPS
            and simd_accumulator_fits(layer)
            and (layer.weights is None or not simd_dw3x3(layer)
                 or bool(np.all(2 * _dw3_sums(layer.weights, layer)[1] < 2**31))))


# ----------------------------------------------------------------------------- sparse


def _u32_bytes(words: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(words, dtype="<u4")).view(np.uint8).copy()


def _row_ptr(counts: list[int], per_item: int, stored_words: int) -> np.ndarray:
    """ctx->aux: uint32 row_ptr[out_c + 1] (in record words), then the stored word count.

    The trailing count lets the kernel bound row_ptr[out_c] by what was really stored
    (nn_sparse_check_aux rejects a blob whose pointers and count disagree).
    """
    rp = np.concatenate([[0], np.cumsum(np.asarray(counts, dtype=np.int64) * per_item)])
    if int(rp[-1]) != stored_words:
        raise AssertionError(f"row pointers cover {int(rp[-1])} record words, {stored_words} stored")
    return _u32_bytes(np.concatenate([rp, [stored_words]]))


def wp_records(weights: np.ndarray, layer: LayerLike) -> tuple[np.ndarray, np.ndarray]:
    """("wp") one uint32 per nonzero: (k * 8) << 16 | uint16(weight); row pointers per output channel."""
    rows = _rows(weights, layer)
    recs: list[np.ndarray] = []
    counts = []
    for row in rows:
        k = np.flatnonzero(row)
        off = (k.astype(np.uint32) * (2 * SPARSE_PIXELS)) << 16  # byte offset in the [k][pixel] int16 columns
        recs.append(off | (row[k].astype(np.int16).view(np.uint16).astype(np.uint32)))
        counts.append(k.size)
    words = np.concatenate(recs) if recs else np.zeros(0, np.uint32)
    return _u32_bytes(words).view(np.int8), _row_ptr(counts, 1, words.size)


def block_records(weights: np.ndarray, layer: LayerLike) -> tuple[np.ndarray, np.ndarray]:
    """("block") two uint32 per nonzero 1x4 block: [w0 w2 w1 w3] and the block's byte offset."""
    rows4 = _pad_k4(_rows(weights, layer))
    n, k4 = rows4.shape
    blocks = rows4.reshape(n, k4 // 4, 4)
    words: list[np.ndarray] = []
    counts = []
    for blk in blocks:
        kb = np.flatnonzero(np.any(blk != 0, axis=1))
        packed = np.ascontiguousarray(blk[kb][:, _SXTB16_ORDER]).view("<u4").reshape(-1)
        off = kb.astype(np.uint32) * (2 * 4 * SPARSE_PIXELS)  # byte offset in the [k/4][pixel][k%4] columns
        words.append(np.stack([packed.astype(np.uint32), off], axis=1).reshape(-1))
        counts.append(kb.size)
    flat = np.concatenate(words) if words else np.zeros(0, np.uint32)
    return _u32_bytes(flat).view(np.int8), _row_ptr(counts, 2, flat.size)


DEPTHWISE_WP_PAD_LIMIT = 64 * 1024


def _dw_padded(layer: LayerLike) -> tuple[int, int, int]:
    """(Hp, Wp, C) of the zero-point-padded input the depthwise "wp" kernel builds."""
    _, oh, ow, c = layer.out_dims
    _, kh, kw, _ = layer.filter_dims
    sh, sw = layer.params.get("stride", (1, 1))
    dh, dw = layer.params.get("dilation", (1, 1))
    return (oh - 1) * sh + (kh - 1) * dh + 1, (ow - 1) * sw + (kw - 1) * dw + 1, int(c)


def dw_wp_records(weights: np.ndarray, layer: LayerLike) -> tuple[np.ndarray, np.ndarray]:
    """(depthwise "wp") per channel, one uint32 per nonzero tap: (byte offset of the tap in the padded input,
    relative to the pixel) << 16 | uint16(weight); row pointers per channel."""
    _, kh, kw, c = layer.filter_dims
    _, wp, _ = _dw_padded(layer)
    dh, dw = layer.params.get("dilation", (1, 1))
    w = np.asarray(weights, dtype=np.int8).reshape(kh * kw, c)
    toff = np.array([(fy * dh * wp + fx * dw) * c for fy in range(kh) for fx in range(kw)], dtype=np.uint32)
    recs, counts = [], []
    for ch in range(c):
        t = np.flatnonzero(w[:, ch])
        recs.append((toff[t] << 16) | w[t, ch].astype(np.int16).view(np.uint16).astype(np.uint32))
        counts.append(t.size)
    words = np.concatenate(recs) if recs else np.zeros(0, np.uint32)
    return _u32_bytes(words).view(np.int8), _row_ptr(counts, 1, words.size)


def _dw_wp_ok(layer: LayerLike) -> bool:
    if int(layer.params.get("depth_multiplier", 1)) != 1:
        return False
    hp, wp, c = _dw_padded(layer)
    _, kh, kw, _ = layer.filter_dims
    dh, dw = layer.params.get("dilation", (1, 1))
    max_off = ((kh - 1) * dh * wp + (kw - 1) * dw) * c
    return hp * wp * c <= DEPTHWISE_WP_PAD_LIMIT and max_off < 65536


def _scratch_dw_wp(layer: LayerLike) -> int:
    hp, wp, c = _dw_padded(layer)
    return 20 * c + hp * wp * c  # NN_DEPTHWISE_S8_WP_SCRATCH


def _sparse_ok(layer: LayerLike) -> bool:
    if layer.op == "CONV_2D" and not _conv_ungrouped(layer):
        return False
    return round4(k_taps(layer)) <= SPARSE_MAX_K4


def _scratch_sparse(layer: LayerLike) -> int:
    # NN_CONV2D_S8_SPARSE_SCRATCH(k4, out_c): per-channel table + 4 plain and 4 interleaved int16 columns
    return 16 * round4(k_taps(layer)) + 20 * int(layer.filter_dims[0])


# ----------------------------------------------------------------------------- the registry


def _build_registry() -> dict[tuple[str, str], KernelSpec]:
    reg: dict[tuple[str, str], KernelSpec] = {}
    for op, (member, stem) in _STEMS.items():
        reg[(op, "ref")] = KernelSpec(op, "ref", member, f"nn_{stem}_s8_ref")
    reg[("CONV_2D", "simd")] = KernelSpec("CONV_2D", "simd", "conv", "nn_conv2d_s8_simd", relayout_simd_conv,
                                          aux=simd_requant_table, scratch=_scratch_simd_conv,
                                          eligible=_conv_simd_ok)
    reg[("DEPTHWISE_CONV_2D", "simd")] = KernelSpec("DEPTHWISE_CONV_2D", "simd", "conv",
                                                    "nn_depthwise_conv2d_s8_simd", relayout_simd_dw,
                                                    aux=simd_dw3_table, scratch=_scratch_simd_dw,
                                                    eligible=_dw_simd_ok)
    reg[("FULLY_CONNECTED", "simd")] = KernelSpec("FULLY_CONNECTED", "simd", "fc", "nn_fully_connected_s8_simd",
                                                  relayout_simd_rows, scratch=_scratch_simd_fc)
    # Any AVERAGE_POOL_2D: channels % 4 == 0 take the SXTAB16 lanes, the C kernel hands the rest to ref.
    reg[("AVERAGE_POOL_2D", "simd")] = KernelSpec("AVERAGE_POOL_2D", "simd", "pool", "nn_avgpool_s8_simd")
    for op in WEIGHT_OPS:
        member, stem = _STEMS[op]
        reg[(op, "skipzero")] = KernelSpec(op, "skipzero", member, f"nn_{stem}_s8_skipzero")
    reg[("DEPTHWISE_CONV_2D", "wp")] = KernelSpec(
        "DEPTHWISE_CONV_2D", "wp", "conv", "nn_depthwise_conv2d_s8_wp",
        relayout=lambda w, layer: dw_wp_records(w, layer)[0], aux=lambda w, layer: dw_wp_records(w, layer)[1],
        scratch=_scratch_dw_wp, eligible=_dw_wp_ok)
    for backend, records in (("wp", wp_records), ("block", block_records)):
        for op in ("CONV_2D", "FULLY_CONNECTED"):
            member, stem = _STEMS[op]
            reg[(op, backend)] = KernelSpec(
                op, backend, member, f"nn_{stem}_s8_{backend}",
                relayout=lambda w, layer, f=records: f(w, layer)[0],
                aux=lambda w, layer, f=records: f(w, layer)[1],
                scratch=_scratch_sparse, eligible=_sparse_ok)
    _register_cmsisnn(reg)
    return reg


def _register_cmsisnn(reg: dict[tuple[str, str], KernelSpec]) -> None:
    """Add the "cmsisnn" rows (edgekws.export.kernels_cmsisnn) when a CMSIS-NN checkout is configured:
    without one the backend cannot be built, so it must not look eligible to the autotuner."""
    try:
        from edgekws.export import kernels_cmsisnn
    except ImportError:
        return
    if kernels_cmsisnn.available():
        kernels_cmsisnn.register(reg, KernelSpec)
        SOURCE_DIRS.setdefault(kernels_cmsisnn.BACKEND, kernels_cmsisnn.SOURCE_DIR)


REGISTRY: dict[tuple[str, str], KernelSpec] = _build_registry()


def kernel_spec(op: str, backend: str) -> KernelSpec:
    """The registry row, or a one-line ModelError naming what exists."""
    spec = REGISTRY.get((op, backend))
    if spec is None:
        have = sorted(b for (o, b) in REGISTRY if o == op)
        raise ModelError(f"no {backend!r} kernel for {op} (backends for {op}: {', '.join(have) or 'none'})")
    return spec


def eligible_backends(layer: LayerLike) -> list[str]:
    """Backends (in BACKENDS order, then any registered later, e.g. cmsisnn) whose kernel can run this layer
    bit-exactly."""
    out = []
    for backend in dict.fromkeys([*BACKENDS, *(b for (_, b) in REGISTRY)]):  # rows added later come last
        spec = REGISTRY.get((layer.op, backend))
        if spec is not None and (spec.eligible is None or spec.eligible(layer)):
            out.append(backend)
    return out


def prepare(layer: LayerLike, backend: str) -> PreparedKernel:
    """Apply the registry row to a layer: device weights, aux bytes, scratch size (ModelError if ineligible)."""
    spec = kernel_spec(layer.op, backend)
    if spec.eligible is not None and not spec.eligible(layer):
        raise ModelError(f"the {backend!r} kernel cannot run this {layer.op} layer "
                         f"(filter {layer.filter_dims}, eligible: {', '.join(eligible_backends(layer))})")
    w = layer.weights
    weights = aux = None
    if w is not None:
        weights = spec.relayout(w, layer) if spec.relayout else np.asarray(w, dtype=np.int8).reshape(-1)
        aux = spec.aux(w, layer) if spec.aux else None
    scratch = spec.scratch(layer) if spec.scratch else 0
    return PreparedKernel(backend, spec.member, spec.function, weights, aux, int(scratch))


# ----------------------------------------------------------------------------- sparsity figures


def sparsity_stats(layer: LayerLike) -> dict[str, float]:
    """Element sparsity and 1x4-block sparsity (fraction of all-zero blocks) of a layer's weights."""
    if layer.weights is None or layer.op not in WEIGHT_OPS:
        return {"element": 0.0, "block4": 0.0}
    w = np.asarray(layer.weights, dtype=np.int8)
    if layer.op == "DEPTHWISE_CONV_2D":
        return {"element": float(np.mean(w == 0)), "block4": float(np.mean(w == 0))}
    rows4 = _pad_k4(_rows(w, layer))
    blocks = rows4.reshape(rows4.shape[0], -1, 4)
    return {"element": float(np.mean(w == 0)), "block4": float(np.mean(~np.any(blocks != 0, axis=2)))}
