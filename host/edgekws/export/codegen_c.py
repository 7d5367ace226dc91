"""C code generation: a model bundle -> ``edgekws_model.{h,c}`` + ``edgekws_selftest.c``.

Why generate C instead of shipping the .tflite: the exporter knows every shape,
so all quantization arithmetic (TFLite's per-channel multipliers and shifts),
kernel choice per layer and the activation-arena plan become constants, and
the firmware only walks a layer table (``firmware/include/edgekws/nn.h``).
Output is byte-identical for the same bundle: no timestamps, fixed ordering,
fixed number formatting.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgekws.errors import BundleError, ConfigError, ModelError
from edgekws.export import kernels, stream_c
from edgekws.export import quant_math as qm
from edgekws.export.arena import ArenaPlan, plan_arena, scratch_key
from edgekws.export.stream_plan import StreamPlan, plan_stream
from edgekws.export.tflite_graph import Graph, Operator, Tensor, layer_names, read_graph
from edgekws.fsutil import write_atomic

SUPPORTED_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "MAX_POOL_2D",
                 "ADD", "SOFTMAX", "RESHAPE")

OP_ENUM = {"CONV_2D": "NN_OP_CONV_2D", "DEPTHWISE_CONV_2D": "NN_OP_DEPTHWISE_CONV_2D",
           "FULLY_CONNECTED": "NN_OP_FULLY_CONNECTED", "AVERAGE_POOL_2D": "NN_OP_AVERAGE_POOL_2D",
           "MAX_POOL_2D": "NN_OP_MAX_POOL_2D", "ADD": "NN_OP_ADD", "SOFTMAX": "NN_OP_SOFTMAX",
           "RESHAPE": "NN_OP_RESHAPE"}

OUTPUT_FILES = ("edgekws_model.h", "edgekws_model.c", "edgekws_selftest.c")


@dataclass(frozen=True)
class ExportOptions:
    """Limits and self-test settings; defaults fit the Nucleo-F767ZI (2 MB flash, 512 KB SRAM)."""

    selftest_count: int = 16
    # How many of them are random unsaturated inputs (at most a quarter; the rest are test-set clips).
    selftest_random: int = 4
    seed: int = 0
    max_weights_bytes: int = 1792 * 1024
    max_arena_bytes: int = 448 * 1024
    alignment: int = 16


# ----------------------------------------------------------------------------- formatting helpers

def _c_float(x: float) -> str:
    """A float32 constant that parses back to exactly the same float32."""
    v = float(np.float32(x))
    s = repr(v)
    if "e" not in s and "." not in s and "inf" not in s and "nan" not in s:
        s += ".0"
    return s + "f"


def _c_string(s: str) -> str:
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif 32 <= ord(ch) < 127:
            out.append(ch)
        else:
            out.extend(f"\\{b:03o}" for b in ch.encode())
    return '"' + "".join(out) + '"'


def _c_ident(s: str) -> str:
    return re.sub(r"[^0-9A-Za-z_]", "_", s)


def _c_array_body(values: np.ndarray, per_line: int = 16) -> str:
    flat = [str(int(v)) for v in np.asarray(values).reshape(-1)]
    lines = ["    " + ", ".join(flat[i:i + per_line]) + "," for i in range(0, len(flat), per_line)]
    return "\n".join(lines)


def _c_array(ctype: str, name: str, values: np.ndarray, *, static: bool = True, aligned: int = 16,
             per_line: int = 16) -> str:
    n = int(np.asarray(values).size)
    storage = "static " if static else ""
    return (f"{storage}const {ctype} {name}[{n}] __attribute__((aligned({aligned}))) = {{\n"
            f"{_c_array_body(values, per_line)}\n}};\n")


# ----------------------------------------------------------------------------- graph -> layer rows

def dims4(shape: tuple[int, ...] | list[int]) -> tuple[int, int, int, int]:
    """Left-pad a shape with 1s to NHWC (TFLite broadcasting aligns shapes on the right)."""
    s = [int(v) for v in shape]
    if len(s) > 4:
        raise ModelError(f"tensor of rank {len(s)} is not supported (max 4)")
    s = [1] * (4 - len(s)) + s
    return s[0], s[1], s[2], s[3]


def compute_padding(stride: int, dilation: int, in_size: int, filter_size: int, out_size: int) -> int:
    """TFLite ``ComputePaddingWithOffset``: leading padding (the odd extra cell goes after)."""
    eff = (filter_size - 1) * dilation + 1
    total = max(0, (out_size - 1) * stride + eff - in_size)
    return total // 2


def _conv_padding(op: Operator, name: str, in_hw: tuple[int, int], k_hw: tuple[int, int],
                  out_hw: tuple[int, int]) -> tuple[int, int]:
    """Leading (top, left) padding of a convolution: SAME/VALID as TFLite computes it, or a folded PAD's.

    A folded PAD (``padding: EXPLICIT``, see tflite_graph.fold_pad_ops) must give exactly the output
    size the model declares, since the kernels derive the trailing padding from it.
    """
    o = op.options
    strides, dilations = (o["stride_h"], o["stride_w"]), (o["dilation_h"], o["dilation_w"])
    if o.get("padding") != "EXPLICIT":
        return (compute_padding(strides[0], dilations[0], in_hw[0], k_hw[0], out_hw[0]),
                compute_padding(strides[1], dilations[1], in_hw[1], k_hw[1], out_hw[1]))
    top, bottom, left, right = (int(v) for v in o["pad"])
    for axis, (size, lead, trail) in enumerate(((in_hw[0], top, bottom), (in_hw[1], left, right))):
        eff = (k_hw[axis] - 1) * dilations[axis] + 1
        want = (size + lead + trail - eff) // strides[axis] + 1
        if want != out_hw[axis]:
            raise ModelError(f"layer {op.index} ({name}): padded input gives {want} outputs along "
                             f"{'HW'[axis]}, the model declares {out_hw[axis]}")
    return top, left


def _quant1(t: Tensor) -> tuple[float, int]:
    if t.quant is None or t.quant.scale.size != 1:
        raise ModelError(f"tensor {t.name!r} needs per-tensor quantization")
    return float(t.quant.scale[0]), int(t.quant.zero_point[0])


@dataclass
class LayerC:
    """Everything the C layer table needs for one operator."""

    index: int
    name: str
    op: str
    backend: str
    in1_tensor: int
    in2_tensor: int  # -1 when the op has one input
    out_tensor: int
    in1_dims: tuple[int, int, int, int]
    in2_dims: tuple[int, int, int, int]
    filter_dims: tuple[int, int, int, int]
    out_dims: tuple[int, int, int, int]
    params: dict[str, Any]
    weights: np.ndarray | None = None
    bias: np.ndarray | None = None
    multiplier: np.ndarray | None = None
    shift: np.ndarray | None = None
    kernel: kernels.PreparedKernel | None = None  # None for RESHAPE
    in1: int = 0  # arena offsets, filled in after planning
    in2: int = 0
    out: int = 0
    scratch: int = 0


def _check_int8(graph: Graph, t: int, what: str, op: Operator) -> Tensor:
    tensor = graph.tensors[t]
    if tensor.dtype != "int8":
        raise ModelError(f"layer {op.index} ({op.op}) {what} is {tensor.dtype}, only int8 models are supported")
    return tensor


def _act(op: Operator, out: Tensor) -> tuple[int, int]:
    act = op.options.get("activation", "NONE")
    s, zp = _quant1(out)
    try:
        return qm.activation_range(act, s, zp)
    except ValueError:
        raise ModelError(f"layer {op.index} ({op.op}) has unsupported fused activation {act}") from None


def _conv_like(graph: Graph, op: Operator) -> dict[str, Any]:
    inp = _check_int8(graph, op.inputs[0], "input", op)
    w = _check_int8(graph, op.inputs[1], "weights", op)
    out = _check_int8(graph, op.outputs[0], "output", op)
    if not w.is_const:
        raise ModelError(f"layer {op.index} ({op.op}) has non-constant weights")
    if w.quant is None or np.any(w.quant.zero_point != 0):
        raise ModelError(f"layer {op.index} ({op.op}) weights are not symmetric int8")
    bias = None
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        bt = graph.tensors[op.inputs[2]]
        if bt.dtype != "int32" or not bt.is_const:
            raise ModelError(f"layer {op.index} ({op.op}) bias is {bt.dtype}, int32 expected")
        bias = bt.data.astype(np.int32)
    return {"inp": inp, "w": w, "out": out, "bias": bias}


def build_layers(graph: Graph, backends: list[str]) -> list[LayerC]:
    """Translate every operator into integer-only layer parameters and prepare its kernel
    (weights re-laid out, aux data and scratch size from the backend registry); ModelError when unsupported."""
    names = layer_names(graph)
    layers: list[LayerC] = []
    zero4 = (0, 0, 0, 0)
    for op, name, backend in zip(graph.operators, names, backends, strict=True):
        if op.op not in SUPPORTED_OPS:
            raise ModelError(f"layer {op.index} uses unsupported op {op.op} (supported: {', '.join(SUPPORTED_OPS)})")
        out_t = graph.tensors[op.outputs[0]]
        in1 = op.inputs[0]
        row = LayerC(op.index, name, op.op, backend, in1, -1, op.outputs[0],
                     dims4(graph.tensors[in1].shape), zero4, zero4, dims4(out_t.shape), {})
        if op.op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            c = _conv_like(graph, op)
            in_s, in_zp = _quant1(c["inp"])
            out_s, out_zp = _quant1(c["out"])
            w = c["w"]
            n_out = row.out_dims[3]
            scales = w.quant.scale if w.quant.scale.size == n_out else np.full(n_out, w.quant.scale[0], np.float32)
            row.multiplier, row.shift = qm.per_channel_multipliers(in_s, scales, out_s)
            _, ih, iw, ic = row.in1_dims
            _, oh, ow, oc = row.out_dims
            kh, kw = w.shape[1], w.shape[2]
            sh, sw = op.options["stride_h"], op.options["stride_w"]
            dh, dw = op.options["dilation_h"], op.options["dilation_w"]
            amin, amax = _act(op, c["out"])
            row.params = {"input_offset": -in_zp, "output_offset": out_zp, "stride": (sh, sw),
                          "padding": _conv_padding(op, name, (ih, iw), (kh, kw), (oh, ow)),
                          "dilation": (dh, dw), "depth_multiplier": 1, "act_min": amin, "act_max": amax}
            if op.op == "DEPTHWISE_CONV_2D":
                if oc % ic:
                    raise ModelError(f"layer {op.index} ({name}): output channels {oc} not a multiple of input {ic}")
                row.params["depth_multiplier"] = oc // ic
            row.filter_dims = dims4(w.shape)
            row.weights = w.data.astype(np.int8)
            row.bias = c["bias"]
        elif op.op == "FULLY_CONNECTED":
            c = _conv_like(graph, op)
            in_s, in_zp = _quant1(c["inp"])
            out_s, out_zp = _quant1(c["out"])
            w = c["w"]
            if len(w.shape) != 2 or op.options.get("weights_format", 0) != 0:
                raise ModelError(f"layer {op.index} ({name}): only default-format 2-D FC weights are supported")
            units, depth = w.shape
            n_in = int(np.prod(graph.tensors[in1].shape))
            if n_in % depth:
                raise ModelError(f"layer {op.index} ({name}): input size {n_in} is not a multiple of {depth}")
            batches = n_in // depth
            if w.quant.scale.size == units and units > 1:
                row.multiplier, row.shift = qm.per_channel_multipliers(in_s, w.quant.scale, out_s)
            else:
                m, s = qm.per_tensor_fc_multiplier(in_s, float(w.quant.scale[0]), out_s)
                row.multiplier = np.full(units, m, np.int32)
                row.shift = np.full(units, s, np.int32)
            amin, amax = _act(op, c["out"])
            row.params = {"input_offset": -in_zp, "output_offset": out_zp, "act_min": amin, "act_max": amax}
            row.in1_dims = (batches, 1, 1, depth)
            row.filter_dims = (units, 1, 1, depth)
            row.out_dims = (batches, 1, 1, units)
            row.weights = w.data.astype(np.int8)
            row.bias = c["bias"]
        elif op.op in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
            inp = _check_int8(graph, in1, "input", op)
            _check_int8(graph, op.outputs[0], "output", op)
            o = op.options
            _, ih, iw, _ = row.in1_dims
            _, oh, ow, _ = row.out_dims
            amin, amax = _act(op, out_t)
            if _quant1(inp) != _quant1(out_t):
                raise ModelError(f"layer {op.index} ({name}): pooling with different input/output quantization")
            row.params = {"stride": (o["stride_h"], o["stride_w"]),
                          "padding": (compute_padding(o["stride_h"], 1, ih, o["filter_h"], oh),
                                      compute_padding(o["stride_w"], 1, iw, o["filter_w"], ow)),
                          "filter": (o["filter_h"], o["filter_w"]), "act_min": amin, "act_max": amax}
        elif op.op == "ADD":
            a = _check_int8(graph, op.inputs[0], "input 1", op)
            b = _check_int8(graph, op.inputs[1], "input 2", op)
            _check_int8(graph, op.outputs[0], "output", op)
            if a.is_const or b.is_const:
                raise ModelError(f"layer {op.index} ({name}): ADD with a constant input is not supported")
            s1, z1 = _quant1(a)
            s2, z2 = _quant1(b)
            so, zo = _quant1(out_t)
            row.params = qm.add_params(s1, z1, s2, z2, so, zo)
            row.params["act_min"], row.params["act_max"] = _act(op, out_t)
            row.in2_tensor = op.inputs[1]
            row.in2_dims = dims4(b.shape)
        elif op.op == "SOFTMAX":
            inp = _check_int8(graph, in1, "input", op)
            _check_int8(graph, op.outputs[0], "output", op)
            so, zo = _quant1(out_t)
            if zo != -128 or abs(so - 1.0 / 256) > 1e-9:
                raise ModelError(f"layer {op.index} ({name}): int8 softmax output must have scale 1/256, zero point -128")
            try:
                row.params = qm.softmax_params(op.options.get("beta", 1.0), _quant1(inp)[0])
            except ValueError as exc:
                raise ModelError(f"layer {op.index} ({name}): {exc}") from None
        elif op.op == "RESHAPE":
            _check_int8(graph, in1, "input", op)
            if backend != "ref":
                raise ModelError(f"layer {op.index} ({name}): RESHAPE has no kernel, backend must be 'ref'")
        if op.op != "RESHAPE":
            try:
                row.kernel = kernels.prepare(row, backend)
            except ModelError as exc:
                raise ModelError(f"layer {op.index} ({name}): {exc}") from None
        layers.append(row)
    return layers


def place_layers(layers: list[LayerC], plan: ArenaPlan) -> None:
    """Copy the arena plan's offsets into the layer rows (aliases checked: RESHAPE must be free)."""
    for row in layers:
        row.in1 = plan.offsets[row.in1_tensor]
        row.out = plan.offsets[row.out_tensor]
        row.in2 = plan.offsets[row.in2_tensor] if row.in2_tensor >= 0 else 0
        if row.kernel is not None and row.kernel.scratch_size:
            row.scratch = plan.offsets[scratch_key(row.index)]
        if row.op == "RESHAPE" and row.in1 != row.out:
            raise ModelError(f"layer {row.index} ({row.name}): reshape output was not aliased")


# ----------------------------------------------------------------------------- bundle reading

@dataclass
class _BundleView:
    meta: dict[str, Any]
    tflite: bytes
    x_int8: np.ndarray | None
    y: np.ndarray | None = None


def _read_bundle(bundle_dir: Path) -> _BundleView:
    if not bundle_dir.is_dir():
        raise BundleError(f"bundle directory {bundle_dir} does not exist")
    bj = bundle_dir / "bundle.json"
    try:
        meta = json.loads(bj.read_text())
    except FileNotFoundError:
        raise BundleError(f"bundle file {bj} is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleError(f"{bj} is not valid JSON ({str(exc).splitlines()[0]})") from None
    if not isinstance(meta, dict):
        raise BundleError(f"{bj} must hold a JSON object")
    if meta.get("schema_version", 1) != 1:
        raise BundleError(f"{bj}: unsupported schema_version {meta.get('schema_version')!r} (expected 1)")
    labels = meta.get("labels")
    if not isinstance(labels, list) or not labels or not all(isinstance(s, str) for s in labels):
        raise BundleError(f"{bj}: 'labels' must be a non-empty list of strings")
    tf = bundle_dir / "model.tflite"
    if not tf.is_file():
        raise BundleError(f"bundle file {tf} is missing")
    x = y = None
    ts = bundle_dir / "testset.npz"
    if ts.is_file():
        try:
            with np.load(ts) as z:
                if "x_int8" in z.files:
                    x = np.asarray(z["x_int8"])
                if "y" in z.files:
                    y = np.asarray(z["y"]).reshape(-1)
        except (OSError, ValueError) as exc:
            raise BundleError(f"{ts} is not a readable npz file ({exc})") from None
        if x is not None and x.dtype != np.int8:
            raise BundleError(f"{ts}: x_int8 has dtype {x.dtype}, int8 expected")
        if x is None or y is None or len(y) != len(x) or not np.issubdtype(y.dtype, np.integer):
            y = None  # labels only steer the choice of vectors; without them the order of the file does
    return _BundleView(meta, tf.read_bytes(), x, y)


def _check_hash(meta: dict[str, Any], tflite: bytes, bundle_dir: Path) -> str:
    """The bundle's hash, verified when bundle.json carries one (a bundle edited by hand is refused)."""
    declared = meta.get("bundle_hash")
    if not isinstance(declared, str):
        return hashlib.sha256(tflite).hexdigest()
    from edgekws.export.bundle import compute_bundle_hash

    if compute_bundle_hash(tflite, meta) != declared:
        raise BundleError(f"bundle {bundle_dir}: bundle_hash does not match model.tflite and bundle.json")
    return declared


def _layer_backends(meta: dict[str, Any], n_ops: int) -> list[str]:
    layers = meta.get("layers")
    if not isinstance(layers, list) or not layers:
        return ["ref"] * n_ops
    if len(layers) != n_ops:
        raise BundleError(f"bundle.json lists {len(layers)} layers but model.tflite has {n_ops} operators")
    out = []
    for i, row in enumerate(layers):
        b = row.get("backend", "ref") if isinstance(row, dict) else "ref"
        if not isinstance(b, str) or not re.fullmatch(r"[a-z0-9_]+", b):
            raise BundleError(f"bundle.json layers[{i}].backend {b!r} is not a backend name")
        out.append(b)
    return out


# ----------------------------------------------------------------------------- self-test vectors

@dataclass(frozen=True)
class SelftestVectors:
    """The embedded self-test: inputs, where each came from, and TFLite Micro's answer layer by layer."""

    inputs: np.ndarray  # int8 [N, n_in]
    sources: list[str]  # "testset[17] label 3" or "random seed 0 draw 5"
    outputs: np.ndarray  # int8 [N, n_out]
    logits: np.ndarray  # int8 [N, n_logits]
    layer_crc: np.ndarray  # uint32 [N, n_layers]


def _unsaturated(out: np.ndarray) -> bool:
    """True when the final output is not pinned to its rails: at least two classes above the floor and
    none at the ceiling. A saturated output (eleven -128s and one 127) hides most inner errors from an
    output-only comparison and even moves the logits far from where real inputs put them."""
    o = np.asarray(out).reshape(-1).astype(np.int32)
    return int((o > -128).sum()) >= 2 and int(o.max()) < 127


def _output_score(out: np.ndarray) -> int:
    """How far from saturated: the number of output values strictly inside (-128, 127)."""
    o = np.asarray(out).reshape(-1).astype(np.int32)
    return int(((o > -128) & (o < 127)).sum())


def _real_vectors(ref: Any, x: np.ndarray, y: np.ndarray | None, n: int) -> tuple[list[int], list[str]]:
    """Test-set clips spread over the labels: per label, the least saturated clips first (ties: file
    order), taken round-robin over the labels so every keyword's feature distribution is represented."""
    per_label_pool = 64  # bounded work: a few hundred TFLM runs at most for any test set
    labels = y if y is not None else np.zeros(len(x), np.int64)
    groups: dict[int, list[int]] = {}
    for i, lab in enumerate(labels.tolist()):
        if len(groups.setdefault(int(lab), [])) < per_label_pool:
            groups[int(lab)].append(i)
    ranked = {}
    for lab, idx in groups.items():
        scores = {i: _output_score(ref.check(x[i]).output) for i in idx}
        ranked[lab] = sorted(idx, key=lambda i: (-scores[i], i))
    chosen: list[int] = []
    depth = 0
    while len(chosen) < n and any(depth < len(v) for v in ranked.values()):
        for lab in sorted(ranked):
            if depth < len(ranked[lab]) and len(chosen) < n:
                chosen.append(ranked[lab][depth])
        depth += 1
    srcs = [f"testset[{i}]" + (f" label {int(y[i])}" if y is not None else "") for i in chosen]
    return chosen, srcs


def _random_vectors(ref: Any, x: np.ndarray | None, n_in: int, n: int, seed: int) -> tuple[list[np.ndarray], list[str]]:
    """Random inputs whose output is unsaturated (see _unsaturated), drawn per element from a normal
    distribution with the test set's per-element mean and spread (uniform int8 without a test set).

    Why not plain uniform int8: on a trained model most uniform draws saturate the softmax (one class
    at 127, the rest at -128), which is the blind spot this check exists to close. Each vector is the
    first of at most 64 seeded draws that is unsaturated (else the least saturated draw, said in its
    source string), so the choice is reproducible from the seed.
    """
    rng = np.random.default_rng(seed)
    flat = x.reshape(len(x), -1).astype(np.float64) if x is not None and len(x) else None
    mu = flat.mean(axis=0) if flat is not None else None
    sd = flat.std(axis=0) if flat is not None else None
    out, srcs = [], []
    for k in range(n):
        best: tuple[int, np.ndarray, int] | None = None
        for draw in range(64):
            if mu is not None:
                v = np.clip(np.rint(rng.normal(mu, np.maximum(sd, 1.0))), -128, 127).astype(np.int8)
            else:
                v = rng.integers(-128, 128, size=n_in, dtype=np.int64).astype(np.int8)
            res = ref.check(v).output
            if _unsaturated(res):
                best = (1 << 30, v, draw)
                break
            if best is None or _output_score(res) > best[0]:
                best = (_output_score(res), v, draw)
        assert best is not None
        kind = "unsaturated" if best[0] == 1 << 30 else "least saturated"
        out.append(best[1])
        srcs.append(f"random seed {seed} vector {k} draw {best[2]} ({kind})")
    return out, srcs


def selftest_vectors(tflite: bytes, x_int8: np.ndarray | None, count: int, seed: int,
                     input_shape: tuple[int, ...], y: np.ndarray | None = None,
                     random_count: int = 4) -> SelftestVectors:
    """``count`` inputs and TFLite Micro's outputs, logits and per-layer CRCs for each.

    With a test set: ``count - min(random_count, count // 4)`` clips spread over the labels (least
    saturated first), then random unsaturated inputs; without one, random inputs only.
    """
    from edgekws.export.layer_check import LayerReference

    n_in = int(np.prod(input_shape))
    ref = LayerReference(tflite)
    xs: list[np.ndarray] = []
    srcs: list[str] = []
    x = None
    if x_int8 is not None and len(x_int8) > 0:
        if int(np.prod(x_int8.shape[1:])) != n_in:
            raise BundleError(f"testset.npz x_int8 has {int(np.prod(x_int8.shape[1:]))} values per example, "
                              f"the model input needs {n_in}")
        x = x_int8.reshape(len(x_int8), n_in)
        n_real = count - min(max(random_count, 0), count // 4)
        idx, srcs = _real_vectors(ref, x, y, n_real)
        xs = [x[i] for i in idx]
    more, more_srcs = _random_vectors(ref, x, n_in, count - len(xs), seed)
    xs += more
    srcs += more_srcs
    checks = [ref.check(v) for v in xs]
    return SelftestVectors(np.stack(xs).astype(np.int8), srcs, np.stack([c.output for c in checks]),
                           np.stack([c.logits for c in checks]),
                           np.array([c.layer_crc for c in checks], dtype=np.uint32))


# ----------------------------------------------------------------------------- emitters

def _dims(d: tuple[int, int, int, int]) -> str:
    return "{" + ", ".join(str(int(v)) for v in d) + "}"


def _params_c(row: LayerC) -> str:
    p = row.params
    if row.op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        return (f".params = {{.conv = {{{p['input_offset']}, {p['output_offset']}, "
                f"{{{p['stride'][0]}, {p['stride'][1]}}}, {{{p['padding'][0]}, {p['padding'][1]}}}, "
                f"{{{p['dilation'][0]}, {p['dilation'][1]}}}, {p['depth_multiplier']}, "
                f"{p['act_min']}, {p['act_max']}}}}},")
    if row.op == "FULLY_CONNECTED":
        return (f".params = {{.fc = {{{p['input_offset']}, {p['output_offset']}, "
                f"{p['act_min']}, {p['act_max']}}}}},")
    if row.op in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        return (f".params = {{.pool = {{{{{p['stride'][0]}, {p['stride'][1]}}}, "
                f"{{{p['padding'][0]}, {p['padding'][1]}}}, {{{p['filter'][0]}, {p['filter'][1]}}}, "
                f"{p['act_min']}, {p['act_max']}}}}},")
    if row.op == "ADD":
        keys = ("left_shift", "input1_offset", "input1_multiplier", "input1_shift", "input2_offset",
                "input2_multiplier", "input2_shift", "output_offset", "output_multiplier", "output_shift",
                "act_min", "act_max")
        return ".params = {.add = {" + ", ".join(str(int(p[k])) for k in keys) + "}},"
    if row.op == "SOFTMAX":
        return (f".params = {{.softmax = {{{p['input_multiplier']}, {p['input_left_shift']}, "
                f"{p['diff_min']}}}}},")
    return ""


def backend_includes(layers: list[LayerC]) -> list[str]:
    """Kernel headers the layer table needs beyond nn.h (declarations of simd / sparse entry points); with simd,
    a compile-time check that the firmware's simd kernels read the weight layouts this export wrote."""
    used = {row.backend for row in layers if row.kernel is not None}
    incs = []
    if "simd" in used:
        incs += ['#include "edgekws/nn_simd.h"',
                 f"#if NN_SIMD_LAYOUT_VERSION != {kernels.SIMD_LAYOUT_VERSION}",
                 f'#error "simd weights exported for layout {kernels.SIMD_LAYOUT_VERSION}, the kernels read '
                 'NN_SIMD_LAYOUT_VERSION: re-run edgekws export c"',
                 "#endif"]
    if used & set(kernels.SPARSE_BACKENDS):
        incs.append('#include "edgekws/nn_sparse.h"')
    if "cmsisnn" in used:
        incs.append('#include "edgekws/nn_cmsisnn.h"')
    return incs


def _header(meta: dict[str, Any], graph: Graph, plan: ArenaPlan, bundle_hash: str, weights_bytes: int,
            n_selftest: int, backends: list[str], in_q: tuple[float, int], out_q: tuple[float, int],
            n_logits: int, stream_lines: list[str] | None = None) -> str:
    labels = meta["labels"]
    in_t = graph.tensors[graph.inputs[0]]
    out_t = graph.tensors[graph.outputs[0]]
    in_d = dims4(in_t.shape)
    lines = [
        "/* Generated by `edgekws export c` - do not edit. */",
        "#ifndef EDGEKWS_MODEL_H",
        "#define EDGEKWS_MODEL_H",
        "",
        "#include <stdint.h>",
        "",
        '#include "edgekws/nn.h"',
        "",
        "#ifdef __cplusplus",
        'extern "C" {',
        "#endif",
        "",
        f"#define EDGEKWS_MODEL_NAME {_c_string(str(meta.get('name', 'model')))}",
        f"#define EDGEKWS_BUNDLE_HASH {_c_string(bundle_hash)}",
        f"#define EDGEKWS_BACKENDS {_c_string(','.join(sorted(set(backends))))}",
        f"#define EDGEKWS_NUM_LABELS {len(labels)}",
        f"#define EDGEKWS_NUM_LAYERS {len(graph.operators)}",
        f"#define EDGEKWS_INPUT_SIZE {int(np.prod(in_t.shape))}",
        f"#define EDGEKWS_INPUT_FRAMES {in_d[1]}",
        f"#define EDGEKWS_INPUT_FEATURES {in_d[2]}",
        f"#define EDGEKWS_OUTPUT_SIZE {int(np.prod(out_t.shape))}",
        f"#define EDGEKWS_INPUT_SCALE {_c_float(in_q[0])}",
        f"#define EDGEKWS_INPUT_ZERO_POINT ({in_q[1]})",
        f"#define EDGEKWS_OUTPUT_SCALE {_c_float(out_q[0])}",
        f"#define EDGEKWS_OUTPUT_ZERO_POINT ({out_q[1]})",
        f"#define EDGEKWS_ARENA_SIZE {plan.size}u",
        f"#define EDGEKWS_WEIGHTS_BYTES {weights_bytes}u",
        f"#define EDGEKWS_SELFTEST_COUNT {n_selftest}",
        f"#define EDGEKWS_LOGITS_SIZE {n_logits}",
        "/* The self-test data carries the logits and a CRC-32 per layer (app/selftest.c checks them). */",
        "#define EDGEKWS_SELFTEST_LAYER_CHECK 1",
        "",
        "extern const nn_model_t edgekws_model;",
        "extern uint8_t edgekws_arena[EDGEKWS_ARENA_SIZE];",
        "extern const char *const edgekws_labels[EDGEKWS_NUM_LABELS];",
        "extern const int8_t edgekws_selftest_input[EDGEKWS_SELFTEST_COUNT][EDGEKWS_INPUT_SIZE];",
        "extern const int8_t edgekws_selftest_expected[EDGEKWS_SELFTEST_COUNT][EDGEKWS_OUTPUT_SIZE];",
        "extern const int8_t edgekws_selftest_logits[EDGEKWS_SELFTEST_COUNT][EDGEKWS_LOGITS_SIZE];",
        "extern const uint32_t edgekws_selftest_layer_crc[EDGEKWS_SELFTEST_COUNT][EDGEKWS_NUM_LAYERS];",
    ]
    norm = meta.get("input_norm")
    if isinstance(norm, dict) and isinstance(norm.get("mean"), list) and isinstance(norm.get("std"), list) \
            and len(norm["mean"]) == len(norm["std"]) and norm["mean"]:
        lines += [f"#define EDGEKWS_INPUT_NORM_SIZE {len(norm['mean'])}",
                  "extern const float edgekws_input_norm_mean[EDGEKWS_INPUT_NORM_SIZE];",
                  "extern const float edgekws_input_norm_std[EDGEKWS_INPUT_NORM_SIZE];"]
    fe = meta.get("frontend")
    if isinstance(fe, dict):
        for k in sorted(fe):
            v = fe[k]
            key = "EDGEKWS_FRONTEND_" + _c_ident(str(k)).upper()
            if isinstance(v, bool):
                lines.append(f"#define {key} {int(v)}")
            elif isinstance(v, int):
                lines.append(f"#define {key} {v}")
            elif isinstance(v, float):
                lines.append(f"#define {key} {_c_float(v)}")
            elif isinstance(v, str):
                lines.append(f"#define {key} {_c_string(v)}")
        if isinstance(meta.get("frontend_hash"), str):
            lines.append(f"#define EDGEKWS_FRONTEND_HASH {_c_string(meta['frontend_hash'])}")
    lines += ["", *(stream_lines or [])]
    lines += ["", "#ifdef __cplusplus", "}", "#endif", "", "#endif /* EDGEKWS_MODEL_H */", ""]
    return "\n".join(lines)


def layer_entry(row: LayerC, in1: int, in2: int, out: int, scratch_offset: int, scratch_size: int) -> list[str]:
    """One nn_layer_t initializer of ``row`` with the given arena offsets (the layer table's, or the
    streaming tail's re-placed ones); it names the constant arrays _source emits for the row."""
    ident = f"l{row.index:03d}_{_c_ident(row.name)}"
    k = row.kernel
    w_ref = f"{ident}_weights" if k is not None and k.weights is not None else "NULL"
    aux_ref, aux_size = "NULL", 0
    if k is not None and k.aux is not None and k.aux.size:
        aux_ref, aux_size = f"{ident}_aux", int(np.asarray(k.aux).size)
    b_ref = f"{ident}_bias" if row.bias is not None else "NULL"
    m_ref, s_ref = (f"{ident}_multiplier", f"{ident}_shift") if row.multiplier is not None else ("NULL", "NULL")
    entry = [
        "    {",
        f"        .name = {_c_string(row.name)}, .op_name = {_c_string(row.op)}, "
        f".backend = {_c_string(row.backend)}, .op = {OP_ENUM[row.op]},",
        f"        .in1_offset = {in1}u, .in2_offset = {in2}u, .out_offset = {out}u,",
        f"        .in1_dims = {_dims(row.in1_dims)}, .in2_dims = {_dims(row.in2_dims)}, "
        f".filter_dims = {_dims(row.filter_dims)}, .out_dims = {_dims(row.out_dims)},",
    ]
    pc = _params_c(row)
    if pc:
        entry.append("        " + pc)
    entry.append(f"        .weights = {w_ref}, .bias = {b_ref}, .quant = {{{m_ref}, {s_ref}}},")
    entry.append(f"        .scratch_offset = {scratch_offset}u, .scratch_size = {scratch_size}u, "
                 f".aux = {aux_ref}, .aux_size = {aux_size}u,")
    if k is not None:
        entry.append(f"        .kernel = {{.{k.member} = {k.function}}},")
    entry.append("    },")
    return entry


def _source(meta: dict[str, Any], graph: Graph, plan: ArenaPlan, layers: list[LayerC],
            bundle_hash: str, splan: StreamPlan | None = None) -> tuple[str, int]:
    out: list[str] = [
        "/* Generated by `edgekws export c` - do not edit. */",
        "#include <stddef.h>",
        "#include <stdint.h>",
        "",
        '#include "edgekws_model.h"',
        *backend_includes(layers),
        "",
        "#ifdef EDGEKWS_ARENA_SECTION",
        "#define EDGEKWS_ARENA_ATTR __attribute__((section(EDGEKWS_ARENA_SECTION), aligned(16)))",
        "#else",
        "#define EDGEKWS_ARENA_ATTR __attribute__((aligned(16)))",
        "#endif",
        "",
        "uint8_t edgekws_arena[EDGEKWS_ARENA_SIZE] EDGEKWS_ARENA_ATTR;",
        "",
        "const char *const edgekws_labels[EDGEKWS_NUM_LABELS] = {",
    ]
    out += [f"    {_c_string(s)}," for s in meta["labels"]]
    out += ["};", ""]
    norm = meta.get("input_norm")
    if isinstance(norm, dict) and isinstance(norm.get("mean"), list) and isinstance(norm.get("std"), list) \
            and len(norm["mean"]) == len(norm["std"]) and norm["mean"]:
        for key in ("mean", "std"):
            vals = ", ".join(_c_float(float(v)) for v in norm[key])
            out.append(f"const float edgekws_input_norm_{key}[EDGEKWS_INPUT_NORM_SIZE] = {{{vals}}};")
        out.append("")
    weights_bytes = 0
    table: list[str] = []
    for row in layers:
        ident = f"l{row.index:03d}_{_c_ident(row.name)}"
        if row.kernel is not None and row.kernel.weights is not None:
            w = row.kernel.weights
            out.append(_c_array("int8_t", f"{ident}_weights", w))
            weights_bytes += int(w.size)
        if row.kernel is not None and row.kernel.aux is not None and row.kernel.aux.size:
            aux = np.asarray(row.kernel.aux, dtype=np.uint8)
            out.append(_c_array("uint8_t", f"{ident}_aux", aux))
            weights_bytes += int(aux.size)
        if row.bias is not None:
            out.append(_c_array("int32_t", f"{ident}_bias", row.bias, per_line=8))
            weights_bytes += 4 * int(row.bias.size)
        if row.multiplier is not None:
            out.append(_c_array("int32_t", f"{ident}_multiplier", row.multiplier, per_line=8))
            out.append(_c_array("int32_t", f"{ident}_shift", row.shift, per_line=16))
            weights_bytes += 8 * int(row.multiplier.size)
        if row.weights is not None or row.bias is not None or row.multiplier is not None:
            out.append("")
        scratch_size = int(row.kernel.scratch_size) if row.kernel is not None else 0
        table += layer_entry(row, row.in1, row.in2, row.out, row.scratch if scratch_size else 0, scratch_size)
    n = len(layers)
    out.append(f"static const nn_layer_t edgekws_layers[{max(n, 1)}] = {{")
    out += table if table else ["    {0},"]
    out += ["};", ""]
    in_t, out_t = graph.inputs[0], graph.outputs[0]
    out += [
        "const nn_model_t edgekws_model = {",
        "    .name = EDGEKWS_MODEL_NAME,",
        "    .bundle_hash = EDGEKWS_BUNDLE_HASH,",
        "    .arena = edgekws_arena,",
        "    .arena_size = EDGEKWS_ARENA_SIZE,",
        f"    .input_offset = {plan.offsets[in_t]}u,",
        "    .input_size = EDGEKWS_INPUT_SIZE,",
        f"    .output_offset = {plan.offsets[out_t]}u,",
        "    .output_size = EDGEKWS_OUTPUT_SIZE,",
        f"    .num_layers = {n}u,",
        "    .layers = edgekws_layers,",
        "};",
        "",
    ]
    out += stream_c.source_lines(splan, layers, layer_entry)
    del bundle_hash
    return "\n".join(out), weights_bytes


def _selftest_source(v: SelftestVectors) -> str:
    out = ["/* Generated by `edgekws export c` - do not edit.",
           " * Expected outputs, pre-softmax logits and the CRC-32 (zlib.crc32) of every layer's output",
           " * tensor come from TFLite Micro with preserve-all-tensors (edgekws.export.layer_check).",
           " * Vectors:"]
    out += [f" *   {i}: {src}" for i, src in enumerate(v.sources)]
    out += [" */", "#include <stdint.h>", "", '#include "edgekws_model.h"', ""]
    for name, arr, size in (("input", v.inputs, "EDGEKWS_INPUT_SIZE"), ("expected", v.outputs, "EDGEKWS_OUTPUT_SIZE"),
                            ("logits", v.logits, "EDGEKWS_LOGITS_SIZE")):
        out.append(f"const int8_t edgekws_selftest_{name}[EDGEKWS_SELFTEST_COUNT][{size}] "
                   "__attribute__((aligned(16))) = {")
        for row in arr:
            out.append("    {")
            out.append("    " + _c_array_body(row, per_line=20).replace("\n", "\n    "))
            out.append("    },")
        out += ["};", ""]
    out.append("const uint32_t edgekws_selftest_layer_crc[EDGEKWS_SELFTEST_COUNT][EDGEKWS_NUM_LAYERS] = {")
    for row in v.layer_crc:
        hexes = [f"0x{int(c):08x}u" for c in row]
        out.append("    {" + ", ".join(hexes) + "},")
    out += ["};", ""]
    return "\n".join(out)


# ----------------------------------------------------------------------------- public API

def device_frontend_reason(meta: dict[str, Any], in_shape: tuple[int, ...] | list[int],
                           in_q: tuple[float, int]) -> str | None:
    """None when the firmware can compute the bundle's model input from raw audio itself; else one line why not.

    The device frontend computes exactly the bundle's FrontendConfig (bit-exact host twin) or
    nothing: a config it cannot compute, or a model input that is not ``frames x features`` of
    it, leaves the firmware without a frontend, and audio and streaming uses are refused with
    this line instead of being fed approximate features.
    """
    from edgekws.frontend import FrontendConfig
    from edgekws.frontend.ctables import frontend_c_source

    if not meta.get("frontend") or not meta.get("input_norm"):
        return "the bundle has no frontend config or input_norm"
    try:
        cfg = FrontendConfig.from_dict(meta["frontend"])
        frontend_c_source(cfg, meta["input_norm"], in_q[0], in_q[1])
    except (ConfigError, TypeError) as exc:
        return f"the device frontend cannot compute it ({exc})"
    shape = [int(v) for v in in_shape]
    if len(shape) < 3 or shape[1] < 1 or shape[2] != cfg.num_features:
        return (f"the model input {shape} is not frames x {cfg.num_features} features of frontend "
                f"{cfg.name!r}")
    return None


def require_device_frontend(meta: dict[str, Any], use: str, where: str | Path = "") -> None:
    """Refuse ``use`` (device audio mode, device streaming) in one line when the firmware built
    from this bundle would have no frontend (:func:`device_frontend_reason`)."""
    inp = meta.get("input") or {}
    try:
        reason = device_frontend_reason(meta, inp.get("shape") or [], (float(inp["scale"]), int(inp["zero_point"])))
    except (KeyError, TypeError, ValueError):
        reason = "bundle.json has no input quantization"
    if reason is not None:
        raise ConfigError(f"bundle {where or meta.get('name', '?')}: {use} refused: the device cannot compute "
                          f"this bundle's features: {reason}")


def bundle_frontend_reason(bundle_dir: str | Path) -> str | None:
    """:func:`device_frontend_reason` of a bundle directory (what ``export c`` tells the user when it
    writes no device-frontend tables)."""
    bv = _read_bundle(Path(bundle_dir))
    graph = read_graph(bv.tflite)
    in_t = graph.tensors[graph.inputs[0]]
    return device_frontend_reason(bv.meta, in_t.shape, _quant1(in_t))


def _frontend_files(meta: dict[str, Any], in_t: Tensor, in_q: tuple[float, int]) -> dict[str, str]:
    """Device-frontend tables (window, mel weights, DCT, normalisation, input quantization).

    Emitted only when :func:`device_frontend_reason` finds nothing against it: then the
    firmware can take raw audio (protocol audio mode, streaming: one clip is the
    ``win + (frames - 1) * hop`` samples that fill the model input) instead of features.
    """
    from edgekws.frontend import FrontendConfig
    from edgekws.frontend.ctables import TABLES_HEADER, TABLES_SOURCE, frontend_c_source

    if device_frontend_reason(meta, in_t.shape, in_q) is not None:
        return {}
    cfg = FrontendConfig.from_dict(meta["frontend"])
    header, source = frontend_c_source(cfg, meta["input_norm"], in_q[0], in_q[1])
    return {TABLES_HEADER: header, TABLES_SOURCE: source}


def export_c(bundle_dir: str | Path, out_dir: str | Path, options: ExportOptions | None = None) -> list[Path]:
    """Generate the firmware C for a bundle; returns the written files (sorted).

    Raises BundleError (corrupt/mismatched bundle) or ModelError (unsupported op, not int8, too big).
    """
    opts = options or ExportOptions()
    if opts.selftest_count < 1:
        raise ConfigError("selftest_count must be at least 1")
    bundle_dir = Path(bundle_dir)
    bv = _read_bundle(bundle_dir)
    graph = read_graph(bv.tflite)
    meta = bv.meta
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise ModelError(f"model has {len(graph.inputs)} inputs and {len(graph.outputs)} outputs; 1 and 1 expected")
    in_t = graph.tensors[graph.inputs[0]]
    out_t = graph.tensors[graph.outputs[0]]
    if in_t.dtype != "int8" or out_t.dtype != "int8":
        raise ModelError(f"model is not full-integer int8 (input {in_t.dtype}, output {out_t.dtype})")
    n_out = int(np.prod(out_t.shape))
    if n_out != len(meta["labels"]):
        raise BundleError(f"model has {n_out} outputs but bundle.json lists {len(meta['labels'])} labels")
    backends = _layer_backends(meta, len(graph.operators))
    layers = build_layers(graph, backends)
    scratch = {row.index: row.kernel.scratch_size for row in layers
               if row.kernel is not None and row.kernel.scratch_size}
    plan = plan_arena(graph, opts.alignment, scratch)
    place_layers(layers, plan)
    if plan.size > opts.max_arena_bytes:
        raise ModelError(f"activation arena needs {plan.size} bytes, more than the {opts.max_arena_bytes} allowed")
    bundle_hash = _check_hash(meta, bv.tflite, bundle_dir)
    in_q, out_q = _quant1(in_t), _quant1(out_t)
    try:  # the streaming schedule, when the model streams (edgekws/nn_stream.h); else the reason why not
        splan, why = plan_stream(layers, opts.alignment), None
    except ModelError as exc:
        splan, why = None, str(exc)
    source, weights_bytes = _source(meta, graph, plan, layers, bundle_hash, splan)
    if weights_bytes > opts.max_weights_bytes:
        raise ModelError(f"model constants need {weights_bytes} bytes, more than the {opts.max_weights_bytes} allowed")
    vecs = selftest_vectors(bv.tflite, bv.x_int8, opts.selftest_count, opts.seed, in_t.shape, bv.y,
                            opts.selftest_random)
    header = _header(meta, graph, plan, bundle_hash, weights_bytes, len(vecs.inputs), backends, in_q, out_q,
                     int(vecs.logits.shape[1]), stream_c.header_lines(splan, why))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {"edgekws_model.h": header, "edgekws_model.c": source, "edgekws_selftest.c": _selftest_source(vecs)}
    files.update(_frontend_files(meta, in_t, in_q))
    written = []
    for name in sorted(files):
        p = out_dir / name
        write_atomic(p, files[name], encoding="ascii")
        written.append(p)
    return written


def summarize_export(out_dir: str | Path) -> dict[str, Any]:
    """Key figures of a generated model, read back from its ``edgekws_model.h`` (for CLIs and reports)."""
    header = Path(out_dir) / "edgekws_model.h"
    if not header.is_file():
        raise BundleError(f"{header} is missing; run `edgekws export c` first")
    macros: dict[str, str] = {}
    for line in header.read_text().splitlines():
        parts = line.split(None, 2)
        if len(parts) == 3 and parts[0] == "#define":
            macros[parts[1]] = parts[2]

    def num(key: str) -> int:
        return int(macros[key].strip("()").rstrip("u"))

    def text(key: str) -> str:
        return json.loads(macros[key])

    return {"name": text("EDGEKWS_MODEL_NAME"), "bundle_hash": text("EDGEKWS_BUNDLE_HASH"),
            "backends": text("EDGEKWS_BACKENDS"), "layers": num("EDGEKWS_NUM_LAYERS"),
            "arena_bytes": num("EDGEKWS_ARENA_SIZE"), "weights_bytes": num("EDGEKWS_WEIGHTS_BYTES"),
            "selftest_count": num("EDGEKWS_SELFTEST_COUNT"), "input_size": num("EDGEKWS_INPUT_SIZE"),
            "output_size": num("EDGEKWS_OUTPUT_SIZE")}
