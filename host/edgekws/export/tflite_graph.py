"""Read a .tflite flatbuffer into plain Python dataclasses.

Why our own reader: the C exporter, the bundle's per-layer table and the
arena planner all need the same view of the graph (shapes, quantization,
constant data, op options), and TensorFlow's interpreter hides most of it.
The flatbuffer schema reader shipped with the ``tflite_micro`` package is used
so no TensorFlow import is needed (fast, and the schema matches the runtime
that is our bit-exact reference).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgekws.errors import ModelError

_DTYPES: dict[int, tuple[str, Any]] = {
    0: ("float32", np.float32),
    1: ("float16", np.float16),
    2: ("int32", np.int32),
    3: ("uint8", np.uint8),
    4: ("int64", np.int64),
    6: ("bool", np.bool_),
    7: ("int16", np.int16),
    9: ("int8", np.int8),
    10: ("float64", np.float64),
    12: ("uint64", np.uint64),
    15: ("uint32", np.uint32),
    16: ("uint16", np.uint16),
}

_ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}
_PADDINGS = {0: "SAME", 1: "VALID"}

# Short, stable layer-name stems (``conv2d_0``) used by the bundle, the C layer table and reports.
LAYER_STEMS = {
    "CONV_2D": "conv2d",
    "DEPTHWISE_CONV_2D": "depthwise_conv2d",
    "FULLY_CONNECTED": "fully_connected",
    "AVERAGE_POOL_2D": "avgpool",
    "MAX_POOL_2D": "maxpool",
    "ADD": "add",
    "SOFTMAX": "softmax",
    "RESHAPE": "reshape",
}


def _schema():
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    return schema


@dataclass(frozen=True)
class QuantParams:
    """Affine quantization of one tensor: real = scale * (q - zero_point), per tensor or per channel."""

    scale: np.ndarray  # float32 [n]
    zero_point: np.ndarray  # int64 [n]
    axis: int = 0

    @property
    def per_channel(self) -> bool:
        return self.scale.size > 1


@dataclass
class Tensor:
    """One tensor of the (single) subgraph; ``data`` is set for constants (weights, biases, shapes)."""

    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    quant: QuantParams | None
    data: np.ndarray | None = None

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * np.dtype(_np_dtype(self.dtype)).itemsize


@dataclass
class Operator:
    """One operator: builtin op name (``"CONV_2D"``), tensor indices (-1 = absent) and decoded options."""

    index: int
    op: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options: dict[str, Any] = field(default_factory=dict)
    version: int = 1


@dataclass
class Graph:
    """The first subgraph of a model: what the exporter and the firmware run."""

    tensors: list[Tensor]
    operators: list[Operator]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    description: str = ""
    version: int = 3

    def tensor(self, index: int) -> Tensor:
        return self.tensors[index]


def _np_dtype(name: str) -> Any:
    for dname, dt in _DTYPES.values():
        if dname == name:
            return dt
    raise ModelError(f"unsupported tensor type {name}")


def _op_names() -> dict[int, str]:
    ops = _schema().BuiltinOperator
    return {v: k for k, v in vars(ops).items() if not k.startswith("_") and isinstance(v, int)}


def _decode_options(op_name: str, opts: Any) -> dict[str, Any]:
    """Turn a schema options object into a plain dict with snake_case keys."""
    if opts is None:
        return {}
    out: dict[str, Any] = {}
    if op_name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        out = {
            "padding": _PADDINGS.get(opts.padding, str(opts.padding)),
            "stride_h": int(opts.strideH), "stride_w": int(opts.strideW),
            "dilation_h": int(opts.dilationHFactor or 1), "dilation_w": int(opts.dilationWFactor or 1),
            "activation": _ACTIVATIONS.get(opts.fusedActivationFunction, "UNKNOWN"),
        }
        if op_name == "DEPTHWISE_CONV_2D":
            out["depth_multiplier"] = int(opts.depthMultiplier)
    elif op_name in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        out = {
            "padding": _PADDINGS.get(opts.padding, str(opts.padding)),
            "stride_h": int(opts.strideH), "stride_w": int(opts.strideW),
            "filter_h": int(opts.filterHeight), "filter_w": int(opts.filterWidth),
            "activation": _ACTIVATIONS.get(opts.fusedActivationFunction, "UNKNOWN"),
        }
    elif op_name == "FULLY_CONNECTED":
        out = {
            "activation": _ACTIVATIONS.get(opts.fusedActivationFunction, "UNKNOWN"),
            "keep_num_dims": bool(opts.keepNumDims),
            "weights_format": int(opts.weightsFormat),
        }
    elif op_name == "SOFTMAX":
        out = {"beta": float(opts.beta)}
    elif op_name == "ADD":
        out = {"activation": _ACTIVATIONS.get(opts.fusedActivationFunction, "UNKNOWN")}
    elif op_name == "RESHAPE":
        out = {"new_shape": [int(v) for v in (opts.newShape if opts.newShape is not None else [])]}
    return out


def _load_bytes(path_or_bytes: str | Path | bytes | bytearray | memoryview) -> bytes:
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        return bytes(path_or_bytes)
    p = Path(path_or_bytes)
    if not p.is_file():
        raise ModelError(f"model file not found: {p}")
    return p.read_bytes()


def read_graph(path_or_bytes: str | Path | bytes | bytearray | memoryview, *, fold_pads: bool = True) -> Graph:
    """Parse a .tflite model (path or bytes) into a :class:`Graph` of its first subgraph.

    ``fold_pads``: fold each PAD that only feeds a VALID convolution into that convolution
    (:func:`fold_pad_ops`), which is the view every consumer of the layer table wants.
    """
    buf = _load_bytes(path_or_bytes)
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise ModelError("not a TFLite model (missing TFL3 identifier)")
    schema = _schema()
    try:
        model = schema.ModelT.InitFromPackedBuf(buf, 0)
    except Exception as exc:  # flatbuffers raises assorted errors on corrupt input
        raise ModelError(f"corrupt TFLite flatbuffer ({type(exc).__name__})") from exc
    if not model.subgraphs:
        raise ModelError("TFLite model has no subgraph")
    if len(model.subgraphs) > 1:
        raise ModelError(f"TFLite model has {len(model.subgraphs)} subgraphs; only single-subgraph models are supported")
    names = _op_names()
    codes = []
    for oc in model.operatorCodes or []:
        code = max(int(oc.builtinCode), int(oc.deprecatedBuiltinCode))
        codes.append((names.get(code, f"BUILTIN_{code}") if code != 32 else f"CUSTOM:{oc.customCode!r}", int(oc.version)))
    sg = model.subgraphs[0]
    buffers = model.buffers or []
    tensors: list[Tensor] = []
    for i, t in enumerate(sg.tensors or []):
        if t.type not in _DTYPES:
            raise ModelError(f"tensor {i} has unsupported type code {t.type}")
        dname, dt = _DTYPES[t.type]
        shape = tuple(int(s) for s in (t.shape if t.shape is not None else []))
        q = t.quantization
        quant = None
        if q is not None and q.scale is not None and len(q.scale) > 0:
            zp = q.zeroPoint if q.zeroPoint is not None else [0] * len(q.scale)
            quant = QuantParams(np.asarray(q.scale, dtype=np.float32), np.asarray(zp, dtype=np.int64),
                                int(q.quantizedDimension))
        data = None
        if 0 < t.buffer < len(buffers):
            b = buffers[t.buffer]
            raw: bytes | None = None
            if b.data is not None and len(b.data) > 0:
                raw = np.asarray(b.data, dtype=np.uint8).tobytes()
            elif b.offset and b.offset > 1 and b.size:
                raw = buf[b.offset:b.offset + b.size]
            if raw is not None:
                arr = np.frombuffer(raw, dtype=np.dtype(dt).newbyteorder("<")).astype(dt)
                n = int(np.prod(shape, dtype=np.int64)) if shape else 1
                if arr.size != n:
                    raise ModelError(f"tensor {i} ({t.name!r}): buffer has {arr.size} elements, shape needs {n}")
                data = arr.reshape(shape)
        name = t.name.decode() if isinstance(t.name, bytes) else (t.name or f"t{i}")
        tensors.append(Tensor(i, name, shape, dname, quant, data))
    ops: list[Operator] = []
    for i, o in enumerate(sg.operators or []):
        op_name, version = codes[o.opcodeIndex]
        ins = tuple(int(v) for v in (o.inputs if o.inputs is not None else []))
        outs = tuple(int(v) for v in (o.outputs if o.outputs is not None else []))
        ops.append(Operator(i, op_name, ins, outs, _decode_options(op_name, o.builtinOptions), version))
    desc = model.description.decode() if isinstance(model.description, bytes) else (model.description or "")
    graph = Graph(tensors, ops, tuple(int(v) for v in sg.inputs), tuple(int(v) for v in sg.outputs),
                  desc, int(model.version))
    return fold_pad_ops(graph) if fold_pads else graph


def _foldable_pad(graph: Graph, pad: Operator) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of a PAD the next convolution can absorb, else None.

    Only a plain PAD (it fills with the zero point, i.e. real 0, exactly what a convolution's
    padding contributes) of height and width, with the same quantization in and out, whose
    output feeds exactly one VALID CONV_2D / DEPTHWISE_CONV_2D and nothing else.
    """
    if pad.op != "PAD" or len(pad.inputs) != 2 or len(pad.outputs) != 1:
        return None
    src, out = graph.tensors[pad.inputs[0]], graph.tensors[pad.outputs[0]]
    pads = graph.tensors[pad.inputs[1]].data
    if pads is None or pads.shape != (4, 2) or len(src.shape) != 4 or np.any(pads < 0):
        return None
    if pads[0].any() or pads[3].any() or src.dtype != out.dtype or src.quant is None or out.quant is None:
        return None
    if not (np.array_equal(src.quant.scale, out.quant.scale)
            and np.array_equal(src.quant.zero_point, out.quant.zero_point)):
        return None
    users = [op for op in graph.operators if pad.outputs[0] in op.inputs]
    if len(users) != 1 or pad.outputs[0] in graph.outputs:
        return None
    user = users[0]
    if user.op not in ("CONV_2D", "DEPTHWISE_CONV_2D") or user.inputs[0] != pad.outputs[0] \
            or user.options.get("padding") != "VALID":
        return None
    return int(pads[1, 0]), int(pads[1, 1]), int(pads[2, 0]), int(pads[2, 1])


def fold_pad_ops(graph: Graph) -> Graph:
    """The graph with every foldable PAD merged into the convolution it feeds.

    Why: a model that is VALID in time but SAME in frequency (streaming-aware models) converts to
    PAD + VALID convolution; the firmware's kernels take explicit leading padding, so the PAD is
    free there. The folded convolution reads the PAD's input and gets ``padding: EXPLICIT`` with
    ``pad: [top, bottom, left, right]``; tensor indices are kept (the layer check maps layers to
    TFLite Micro's tensors by index), operators are renumbered. A PAD that cannot be folded stays
    and is refused by the exporter as an op the firmware does not run.
    """
    folds = {}
    for op in graph.operators:
        p = _foldable_pad(graph, op)
        if p is not None:
            folds[op.outputs[0]] = (op.inputs[0], p)
    if not folds:
        return graph
    ops: list[Operator] = []
    for op in graph.operators:
        if op.op == "PAD" and op.outputs[0] in folds:
            continue
        if op.inputs and op.inputs[0] in folds:
            src, (top, bottom, left, right) = folds[op.inputs[0]]
            opts = dict(op.options, padding="EXPLICIT", pad=[top, bottom, left, right])
            op = Operator(len(ops), op.op, (src, *op.inputs[1:]), op.outputs, opts, op.version)
        else:
            op = Operator(len(ops), op.op, op.inputs, op.outputs, op.options, op.version)
        ops.append(op)
    return Graph(graph.tensors, ops, graph.inputs, graph.outputs, graph.description, graph.version)


def layer_names(graph: Graph) -> list[str]:
    """Stable per-layer names: op stem + running index per stem (``conv2d_0``, ``conv2d_1``)."""
    counts: dict[str, int] = {}
    out = []
    for op in graph.operators:
        stem = LAYER_STEMS.get(op.op, op.op.lower())
        out.append(f"{stem}_{counts.get(stem, 0)}")
        counts[stem] = counts.get(stem, 0) + 1
    return out


def _macs(graph: Graph, op: Operator) -> int:
    """Multiply-accumulates of weight layers (0 for pools, add, softmax, reshape)."""
    out_shape = graph.tensors[op.outputs[0]].shape
    if op.op == "CONV_2D":
        w = graph.tensors[op.inputs[1]].shape  # [out_c, kh, kw, in_c]
        return int(np.prod(out_shape)) * w[1] * w[2] * w[3]
    if op.op == "DEPTHWISE_CONV_2D":
        w = graph.tensors[op.inputs[1]].shape  # [1, kh, kw, out_c]
        return int(np.prod(out_shape)) * w[1] * w[2]
    if op.op == "FULLY_CONNECTED":
        w = graph.tensors[op.inputs[1]].shape  # [out, in]
        return int(np.prod(out_shape)) * w[-1]
    return 0


def layer_summary(path_or_bytes: str | Path | bytes | bytearray | memoryview | Graph) -> list[dict[str, Any]]:
    """One JSON-ready dict per operator, in execution order.

    Keys: index, name, op, inputs, outputs (tensor indices), input_shape, output_shape,
    params (constant weights + biases), macs, sparsity (fraction of zero weights, 0.0 when
    the layer has none), nonzeros (non-zero weights), options.
    """
    graph = path_or_bytes if isinstance(path_or_bytes, Graph) else read_graph(path_or_bytes)
    names = layer_names(graph)
    rows = []
    for op, name in zip(graph.operators, names, strict=True):
        act = [i for i in op.inputs if i >= 0 and not graph.tensors[i].is_const]
        consts = [graph.tensors[i] for i in op.inputs if i >= 0 and graph.tensors[i].is_const]
        weight_t = graph.tensors[op.inputs[1]] if op.op in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED") \
            and len(op.inputs) > 1 and graph.tensors[op.inputs[1]].is_const else None
        params = sum(int(t.data.size) for t in consts if op.op != "RESHAPE") if consts else 0
        if weight_t is not None:
            w = weight_t.data
            nz = int(np.count_nonzero(w))
            sparsity = float(1.0 - nz / w.size) if w.size else 0.0
        else:
            nz, sparsity = 0, 0.0
        in_shape = list(graph.tensors[act[0]].shape) if act else []
        rows.append({
            "index": op.index,
            "name": name,
            "op": op.op,
            "inputs": [int(i) for i in op.inputs],
            "outputs": [int(i) for i in op.outputs],
            "input_shape": [int(v) for v in in_shape],
            "output_shape": [int(v) for v in graph.tensors[op.outputs[0]].shape],
            "params": int(params),
            "macs": int(_macs(graph, op)),
            "sparsity": round(sparsity, 6),
            "nonzeros": nz,
            "options": op.options,
        })
    return rows
