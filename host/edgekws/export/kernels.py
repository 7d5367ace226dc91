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
    """A minimal :class:`LayerLike` for tests and tools (dims are NHWC, filter as in nn.h)."""

    op: str
    in1_dims: tuple[int, int, int, int]
    filter_dims: tuple[int, int, int, int]
    out_dims: tuple[int, int, int, int]
    params: dict[str, Any]
    weights: np.ndarray | None = None


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
    """simd conv: as :func:`relayout_simd_rows`, then channel pairs interleaved word by word.

    For channels (2i, 2i+1) and each group of 4 k the kernel reads both words with one LDRD;
    an odd last channel stays a plain row.
    """
    rows = _sxtb16_order(_pad_k4(_rows(weights, layer)))
    n, k4 = rows.shape
    pairs = n // 2 * 2
    paired = rows[:pairs].reshape(pairs // 2, 2, k4 // 4, 4).transpose(0, 2, 1, 3).reshape(-1)
    return np.concatenate([paired, rows[pairs:].reshape(-1)]).astype(np.int8)


SIMD_S16_WEIGHTS_LIMIT = 16 * 1024


def _scratch_simd_conv(layer: LayerLike) -> int:
    """NN_CONV2D_S8_SIMD_SCRATCH(k4, out_c): per-channel requantization table + 5 int16 columns; plus
    (NN_CONV2D_S8_SIMD_SCRATCH_S16) the channel pairs' weights as int16 when they take at most 16 KB, which
    the kernel then uses for its LDRD+SMLAD-only inner loop (RAM for speed; flash keeps int8)."""
    k4, out_c = round4(k_taps(layer)), int(layer.filter_dims[0])
    s16 = 4 * k4 * (out_c // 2)
    return simd_conv_base_scratch(layer) + (s16 if s16 <= SIMD_S16_WEIGHTS_LIMIT else 0)


def simd_conv_base_scratch(layer: LayerLike) -> int:
    """The least scratch the simd conv runs with (its int8-weight SXTB16 path)."""
    return 10 * round4(k_taps(layer)) + 16 * int(layer.filter_dims[0])


def _scratch_simd_fc(layer: LayerLike) -> int:
    return 4 * round4(k_taps(layer))  # NN_FULLY_CONNECTED_S8_SIMD_SCRATCH


def _scratch_simd_dw(layer: LayerLike) -> int:
    return 12 * int(layer.out_dims[3])  # NN_DEPTHWISE_S8_SIMD_SCRATCH: per-channel requantization constants


def _conv_ungrouped(layer: LayerLike) -> bool:
    return layer.filter_dims[3] == layer.in1_dims[3] and layer.filter_dims[0] == layer.out_dims[3]


def _dw_simd_ok(layer: LayerLike) -> bool:
    _, kh, kw, _ = layer.filter_dims
    return int(layer.params.get("depth_multiplier", 1)) == 1 and kh * kw <= DEPTHWISE_SIMD_MAX_TAPS


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
                                          scratch=_scratch_simd_conv, eligible=_conv_ungrouped)
    reg[("DEPTHWISE_CONV_2D", "simd")] = KernelSpec("DEPTHWISE_CONV_2D", "simd", "conv",
                                                    "nn_depthwise_conv2d_s8_simd", scratch=_scratch_simd_dw,
                                                    eligible=_dw_simd_ok)
    reg[("FULLY_CONNECTED", "simd")] = KernelSpec("FULLY_CONNECTED", "simd", "fc", "nn_fully_connected_s8_simd",
                                                  relayout_simd_rows, scratch=_scratch_simd_fc)
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
