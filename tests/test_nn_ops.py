"""Every ref int8 kernel against the TFLite Micro runtime, op by op: outputs must be identical.

Single-op models are written directly as .tflite flatbuffers (schema object API), so the
tests control shapes, strides, paddings, activations and random per-channel scales without
a Keras round trip, and run in seconds. Each model goes through the real exporter
(export_c), the generated C is compiled with the host gcc and run via ctypes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

import cbuild
from edgekws.export.codegen_c import export_c
from edgekws.tflm import TflmModel

# ----------------------------------------------------------------------------- tflite builder

INT8, INT32 = 9, 2


def _schema():
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    return schema


ACT = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}
PAD = {"SAME": 0, "VALID": 1}


@dataclass
class TfliteBuilder:
    """Minimal single-subgraph .tflite writer for tests."""

    tensors: list = field(default_factory=list)
    buffers: list = field(default_factory=list)
    ops: list = field(default_factory=list)
    opcodes: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.buffers.append(_schema().BufferT())

    def _tensor(self, shape, ttype, buf, scale, zp, qdim=0) -> int:
        s = _schema()
        t = s.TensorT()
        t.shape = [int(v) for v in shape]
        t.type = ttype
        t.buffer = buf
        t.name = f"t{len(self.tensors)}"
        if scale is not None:
            q = s.QuantizationParametersT()
            q.scale = [float(v) for v in np.atleast_1d(scale)]
            q.zeroPoint = [int(v) for v in np.atleast_1d(zp)]
            q.quantizedDimension = qdim
            t.quantization = q
        self.tensors.append(t)
        return len(self.tensors) - 1

    def act(self, shape, scale, zp) -> int:
        return self._tensor(shape, INT8, 0, scale, zp)

    def const(self, arr: np.ndarray, ttype: int, scale=None, zp=None, qdim=0) -> int:
        b = _schema().BufferT()
        b.data = np.frombuffer(np.ascontiguousarray(arr).tobytes(), dtype=np.uint8)
        self.buffers.append(b)
        return self._tensor(arr.shape, ttype, len(self.buffers) - 1, scale, zp, qdim)

    def op(self, name: str, inputs, outputs, opt_type: str | None = None, **opts) -> None:
        s = _schema()
        code = getattr(s.BuiltinOperator, name)
        if code not in self.opcodes:
            oc = s.OperatorCodeT()
            oc.builtinCode = code
            oc.deprecatedBuiltinCode = min(code, 127)
            oc.version = 1
            self.opcodes[code] = (len(self.opcodes), oc)
        o = s.OperatorT()
        o.opcodeIndex = self.opcodes[code][0]
        o.inputs = list(inputs)
        o.outputs = list(outputs)
        if opt_type:
            o.builtinOptionsType = getattr(s.BuiltinOptions, opt_type)
            ob = getattr(s, opt_type + "T")()
            for k, v in opts.items():
                setattr(ob, k, v)
            o.builtinOptions = ob
        self.ops.append(o)

    def build(self, inputs, outputs) -> bytes:
        import flatbuffers

        s = _schema()
        sg = s.SubGraphT()
        sg.tensors, sg.inputs, sg.outputs, sg.operators = self.tensors, list(inputs), list(outputs), self.ops
        m = s.ModelT()
        m.version = 3
        m.operatorCodes = [oc for _, oc in sorted(self.opcodes.values(), key=lambda v: v[0])]
        m.subgraphs = [sg]
        m.buffers = self.buffers
        m.description = "edgekws test"
        b = flatbuffers.Builder(1024)
        b.Finish(m.Pack(b), file_identifier=b"TFL3")
        return bytes(b.Output())


def out_size(n: int, k: int, stride: int, dilation: int, padding: str) -> int:
    eff = (k - 1) * dilation + 1
    return (n + stride - 1) // stride if padding == "SAME" else (n - eff + stride) // stride


def _scales(rng, base: float, n: int, per_channel: bool) -> np.ndarray:
    return (base * rng.uniform(0.5, 1.5, n) if per_channel else np.full(1, base)).astype(np.float32)


def conv_model(rng, in_shape=(1, 9, 7, 3), out_c=4, k=(3, 3), stride=(1, 1), dilation=(1, 1),
               padding="SAME", act="NONE", depthwise=False, dm=1, bias=True, per_channel=True) -> bytes:
    b = TfliteBuilder()
    _, h, w, c = in_shape
    in_s, in_zp = float(rng.uniform(0.01, 0.1)), int(rng.integers(-20, 20))
    x = b.act(in_shape, in_s, in_zp)
    oc = c * dm if depthwise else out_c
    wshape = (1, k[0], k[1], oc) if depthwise else (oc, k[0], k[1], c)
    wq = rng.integers(-127, 128, size=wshape).astype(np.int8)
    ws = _scales(rng, 0.01, oc, per_channel)
    wt = b.const(wq, INT8, ws, np.zeros(ws.size, np.int64), 3 if depthwise else 0)
    ins = [x, wt]
    taps = k[0] * k[1] * (1 if depthwise else c)
    acc_std = np.sqrt(taps) * 74 * 74
    if bias:
        bs = (in_s * ws).astype(np.float32) * np.ones(oc, np.float32)
        bq = rng.integers(-int(acc_std), int(acc_std) + 1, size=oc).astype(np.int32)
        ins.append(b.const(bq, INT32, bs if per_channel else bs[:1], np.zeros(bs.size if per_channel else 1, np.int64)))
    else:
        ins.append(-1)
    out_s = float(in_s * 0.01 * acc_std / 40 * rng.uniform(0.5, 2.0))
    oh = out_size(h, k[0], stride[0], dilation[0], padding)
    ow = out_size(w, k[1], stride[1], dilation[1], padding)
    y = b.act((1, oh, ow, oc), out_s, int(rng.integers(-30, 30)))
    common = dict(padding=PAD[padding], strideH=stride[0], strideW=stride[1], dilationHFactor=dilation[0],
                  dilationWFactor=dilation[1], fusedActivationFunction=ACT[act])
    if depthwise:
        b.op("DEPTHWISE_CONV_2D", ins, [y], "DepthwiseConv2DOptions", depthMultiplier=dm, **common)
    else:
        b.op("CONV_2D", ins, [y], "Conv2DOptions", **common)
    return b.build([x], [y])


def fc_model(rng, in_shape=(1, 20), units=6, act="NONE", bias=True, per_channel=False) -> bytes:
    b = TfliteBuilder()
    depth = in_shape[-1]
    in_s, in_zp = float(rng.uniform(0.01, 0.1)), int(rng.integers(-20, 20))
    x = b.act(in_shape, in_s, in_zp)
    ws = _scales(rng, 0.01, units, per_channel)
    wt = b.const(rng.integers(-127, 128, size=(units, depth)).astype(np.int8), INT8, ws, np.zeros(ws.size, np.int64))
    acc_std = np.sqrt(depth) * 74 * 74
    ins = [x, wt]
    if bias:
        bs = (in_s * ws).astype(np.float32)
        ins.append(b.const(rng.integers(-int(acc_std), int(acc_std) + 1, size=units).astype(np.int32), INT32,
                           bs, np.zeros(bs.size, np.int64)))
    else:
        ins.append(-1)
    batches = int(np.prod(in_shape)) // depth
    y = b.act((batches, units), float(in_s * 0.01 * acc_std / 40 * rng.uniform(0.5, 2)), int(rng.integers(-30, 30)))
    b.op("FULLY_CONNECTED", ins, [y], "FullyConnectedOptions", fusedActivationFunction=ACT[act])
    return b.build([x], [y])


def pool_model(rng, kind="AVERAGE_POOL_2D", in_shape=(1, 9, 7, 3), k=(2, 2), stride=(2, 2), padding="VALID",
               act="NONE") -> bytes:
    b = TfliteBuilder()
    s, zp = float(rng.uniform(0.01, 0.1)), int(rng.integers(-20, 20))
    x = b.act(in_shape, s, zp)
    oh = out_size(in_shape[1], k[0], stride[0], 1, padding)
    ow = out_size(in_shape[2], k[1], stride[1], 1, padding)
    y = b.act((1, oh, ow, in_shape[3]), s, zp)
    b.op(kind, [x], [y], "Pool2DOptions", padding=PAD[padding], strideH=stride[0], strideW=stride[1],
         filterHeight=k[0], filterWidth=k[1], fusedActivationFunction=ACT[act])
    return b.build([x], [y])


def add_model(rng, shape=(1, 4, 5, 3), act="NONE", broadcast=False, swap=False) -> bytes:
    """Residual-style ADD with one model input: x + conv1x1(x), or conv1x1(x) + global_avgpool(x) (broadcast)."""
    b = TfliteBuilder()
    c = shape[3]
    s_x, zp_x = float(rng.uniform(0.01, 0.1)), int(rng.integers(-20, 20))
    x = b.act(shape, s_x, zp_x)
    ws = _scales(rng, 0.01, c, True)
    wt = b.const(rng.integers(-127, 128, size=(c, 1, 1, c)).astype(np.int8), INT8, ws, np.zeros(c, np.int64))
    s_a = float(s_x * 0.01 * np.sqrt(c) * 74 * 74 / 40 * rng.uniform(0.5, 2))
    a = b.act(shape, s_a, int(rng.integers(-20, 20)))
    b.op("CONV_2D", [x, wt, -1], [a], "Conv2DOptions", padding=0, strideH=1, strideW=1, dilationHFactor=1,
         dilationWFactor=1, fusedActivationFunction=0)
    other = x
    if broadcast:
        other = b.act((1, 1, 1, c), s_x, zp_x)
        b.op("AVERAGE_POOL_2D", [x], [other], "Pool2DOptions", padding=1, strideH=shape[1], strideW=shape[2],
             filterHeight=shape[1], filterWidth=shape[2], fusedActivationFunction=0)
    y = b.act(shape, float((s_x + s_a) * rng.uniform(0.7, 1.5)), int(rng.integers(-20, 20)))
    ins = [other, a] if swap else [a, other]
    b.op("ADD", ins, [y], "AddOptions", fusedActivationFunction=ACT[act])
    return b.build([x], [y])


def softmax_model(rng, shape=(1, 12), in_scale=None, beta=1.0) -> bytes:
    b = TfliteBuilder()
    x = b.act(shape, float(in_scale if in_scale is not None else rng.uniform(0.02, 0.2)), int(rng.integers(-20, 20)))
    y = b.act(shape, 1.0 / 256, -128)
    b.op("SOFTMAX", [x], [y], "SoftmaxOptions", beta=beta)
    return b.build([x], [y])


def reshape_fc_model(rng) -> bytes:
    """RESHAPE (free in the planner) feeding an FC, then a softmax."""
    b = TfliteBuilder()
    in_s = 0.05
    x = b.act((1, 2, 3, 4), in_s, 3)
    shp = b.const(np.array([1, 24], np.int32), INT32)
    r = b.act((1, 24), in_s, 3)
    b.op("RESHAPE", [x, shp], [r], "ReshapeOptions", newShape=[1, 24])
    ws = _scales(rng, 0.01, 5, True)
    wt = b.const(rng.integers(-127, 128, size=(5, 24)).astype(np.int8), INT8, ws, np.zeros(5, np.int64))
    f = b.act((1, 5), 0.1, -5)
    b.op("FULLY_CONNECTED", [r, wt, -1], [f], "FullyConnectedOptions", fusedActivationFunction=0)
    y = b.act((1, 5), 1.0 / 256, -128)
    b.op("SOFTMAX", [f], [y], "SoftmaxOptions", beta=1.0)
    return b.build([x], [y])


# ----------------------------------------------------------------------------- harness

def write_bundle(path: Path, tflite: bytes, n_out: int, **extra) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "model.tflite").write_bytes(tflite)
    meta = {"schema_version": 1, "name": path.name, "labels": [f"l{i}" for i in range(n_out)], **extra}
    (path / "bundle.json").write_text(json.dumps(meta))
    return path


@pytest.fixture(scope="module")
def nn_objects(tmp_path_factory, host_cc):
    del host_cc
    return cbuild.compile_objects(cbuild.nn_sources(), tmp_path_factory.mktemp("nnobj"))


def check_identical(tflite: bytes, work: Path, nn_objects, n_inputs: int = 12, seed: int = 0,
                    extreme: bool = True, per_layer: bool = False, backends: list[str] | None = None) -> int:
    """Export, compile, run N random inputs through C and TFLM; assert identical. Returns values compared.

    ``backends``: one kernel backend per layer (bundle.json layers[i].backend); default all ref.
    """
    tm = TflmModel(tflite)
    n_in = int(np.prod(tm.input_shape))
    n_out = int(np.prod(tm.output_shape))
    extra = {"layers": [{"backend": b} for b in backends]} if backends else {}
    bundle = write_bundle(work / "bundle", tflite, n_out, **extra)
    export_c(bundle, work / "gen")
    lib = cbuild.build_model_lib(work / "gen", work / "build", nn_objects=None if backends else nn_objects)
    assert lib.selftest() == 0
    rng = np.random.default_rng(seed)
    xs = [rng.integers(-128, 128, n_in).astype(np.int8) for _ in range(n_inputs)]
    if extreme:
        xs += [np.full(n_in, -128, np.int8), np.full(n_in, 127, np.int8)]
    for x in xs:
        want = tm.run(x).reshape(-1)
        got = lib.run(x)
        assert np.array_equal(got, want), f"mismatch at {np.flatnonzero(got != want)[:8]}: {got[:8]} vs {want[:8]}"
    compared = len(xs) * n_out
    if per_layer:
        compared += check_layers_identical(tflite, lib, xs[:4])
    return compared


def _tflm_tensor(tm: TflmModel, index: int) -> np.ndarray:
    """A preserved tensor as a flat int8 array (TflmModel.tensor currently hands back the runtime's
    list of {'tensor_data': ...} dicts as an object array)."""
    v = tm.tensor(index)
    if v.dtype == object:
        v = np.asarray(v.reshape(-1)[0]["tensor_data"])
    return v.reshape(-1)


def check_layers_identical(tflite: bytes, lib: cbuild.ModelLib, xs) -> int:
    """Every layer's output tensor, C (layers 0..k run, then read from the arena) vs TFLM's preserved tensors."""
    from edgekws.export.tflite_graph import read_graph

    graph = read_graph(tflite)
    tm = TflmModel(tflite, preserve_all_tensors=True)
    n = 0
    for x in xs:
        tm.run(x)
        for op in graph.operators:
            t = op.outputs[0]
            want = _tflm_tensor(tm, t)
            got = lib.run_prefix(x, op.index, want.size)
            assert np.array_equal(got, want), f"layer {op.index} ({op.op}) differs at {np.flatnonzero(got != want)[:8]}"
            n += want.size
    return n


# ----------------------------------------------------------------------------- tests

CONV_CASES = [
    dict(),
    dict(k=(1, 1), padding="VALID"),
    dict(k=(3, 3), stride=(2, 2), padding="SAME", act="RELU"),
    dict(k=(4, 2), stride=(2, 1), padding="SAME", act="RELU6"),
    dict(k=(3, 3), stride=(1, 2), padding="VALID", act="RELU_N1_TO_1"),
    dict(in_shape=(1, 49, 10, 1), out_c=8, k=(10, 4), stride=(2, 2), padding="SAME", act="RELU"),
    dict(k=(3, 3), dilation=(2, 2), padding="SAME"),
    dict(k=(2, 3), dilation=(1, 2), padding="VALID", bias=False),
    dict(in_shape=(1, 6, 6, 8), out_c=16, k=(1, 1), per_channel=False),
    dict(in_shape=(1, 5, 5, 2), out_c=3, k=(5, 5), padding="SAME", stride=(3, 3)),
]


@pytest.mark.parametrize("case", CONV_CASES, ids=[str(i) for i in range(len(CONV_CASES))])
def test_conv2d_identical(case, tmp_path, nn_objects):
    rng = np.random.default_rng(len(str(case)))
    assert check_identical(conv_model(rng, **case), tmp_path, nn_objects) > 0


DW_CASES = [
    dict(),
    dict(k=(3, 3), stride=(2, 2), act="RELU"),
    dict(dm=2, k=(3, 3), padding="VALID", act="RELU6"),
    dict(in_shape=(1, 25, 5, 16), k=(3, 3), padding="SAME", act="RELU"),
    dict(k=(3, 3), dilation=(2, 2), padding="SAME"),  # (TFLM itself crashes on a bias-less depthwise conv)
    dict(in_shape=(1, 8, 8, 4), k=(5, 3), stride=(1, 2), padding="SAME", per_channel=False, dm=3),
]


@pytest.mark.parametrize("case", DW_CASES, ids=[str(i) for i in range(len(DW_CASES))])
def test_depthwise_conv2d_identical(case, tmp_path, nn_objects):
    rng = np.random.default_rng(100 + len(str(case)))
    assert check_identical(conv_model(rng, depthwise=True, **case), tmp_path, nn_objects) > 0


FC_CASES = [dict(), dict(per_channel=True), dict(act="RELU", bias=False), dict(in_shape=(1, 64), units=12, act="RELU6"),
            dict(in_shape=(3, 10), units=4, per_channel=True)]


@pytest.mark.parametrize("case", FC_CASES, ids=[str(i) for i in range(len(FC_CASES))])
def test_fully_connected_identical(case, tmp_path, nn_objects):
    rng = np.random.default_rng(200 + len(str(case)))
    assert check_identical(fc_model(rng, **case), tmp_path, nn_objects) > 0


POOL_CASES = [
    dict(), dict(padding="SAME"), dict(k=(3, 3), stride=(1, 1), padding="SAME", act="RELU"),
    dict(in_shape=(1, 25, 5, 16), k=(25, 5), stride=(25, 5), padding="VALID"),
    dict(k=(3, 2), stride=(2, 3), padding="SAME", act="RELU6"),
]


@pytest.mark.parametrize("kind", ["AVERAGE_POOL_2D", "MAX_POOL_2D"])
@pytest.mark.parametrize("case", POOL_CASES, ids=[str(i) for i in range(len(POOL_CASES))])
def test_pool_identical(kind, case, tmp_path, nn_objects):
    rng = np.random.default_rng(300 + len(str(case)))
    assert check_identical(pool_model(rng, kind=kind, **case), tmp_path, nn_objects) > 0


ADD_CASES = [dict(), dict(act="RELU"), dict(broadcast=True), dict(broadcast=True, swap=True, act="RELU6"),
             dict(shape=(1, 7, 3, 8), swap=True)]


@pytest.mark.parametrize("case", ADD_CASES, ids=[str(i) for i in range(len(ADD_CASES))])
def test_add_identical(case, tmp_path, nn_objects):
    rng = np.random.default_rng(400 + len(str(case)))
    assert check_identical(add_model(rng, **case), tmp_path, nn_objects) > 0


SOFTMAX_CASES = [dict(), dict(in_scale=0.01), dict(in_scale=0.5), dict(shape=(1, 35)), dict(beta=0.5),
                 dict(shape=(4, 7), in_scale=0.08)]


@pytest.mark.parametrize("case", SOFTMAX_CASES, ids=[str(i) for i in range(len(SOFTMAX_CASES))])
def test_softmax_identical(case, tmp_path, nn_objects):
    rng = np.random.default_rng(500 + len(str(case)))
    assert check_identical(softmax_model(rng, **case), tmp_path, nn_objects, n_inputs=40) > 0


def test_reshape_is_free_and_identical(tmp_path, nn_objects):
    rng = np.random.default_rng(7)
    tflite = reshape_fc_model(rng)
    assert check_identical(tflite, tmp_path, nn_objects) > 0
    text = (tmp_path / "gen" / "edgekws_model.c").read_text()
    assert "NN_OP_RESHAPE" in text


# ----------------------------------------------------------------------------- multi-layer models

def chain_model(rng, zero_fraction: float = 0.0, residual: bool = True, maxpool: bool = False) -> bytes:
    """A small DS-CNN-shaped graph written directly (fast): conv 10x4/2 -> [dw 3x3 -> pw 1x1 (+ residual)]
    -> avg or max pool -> reshape -> FC -> softmax. ``zero_fraction`` of every weight tensor is zeroed."""
    b = TfliteBuilder()
    h, w, c = 49, 10, 8

    def weights(shape):
        q = rng.integers(-127, 128, size=shape).astype(np.int8)
        if zero_fraction:
            q[rng.random(shape) < zero_fraction] = 0
        return q

    def conv(x, in_shape, in_s, oc, k, stride, depthwise=False, act="RELU"):
        _, ih, iw, ic = in_shape
        wshape = (1, k[0], k[1], ic) if depthwise else (oc, k[0], k[1], ic)
        ocn = ic if depthwise else oc
        ws = _scales(rng, 0.01, ocn, True)
        wt = b.const(weights(wshape), INT8, ws, np.zeros(ocn, np.int64), 3 if depthwise else 0)
        taps = k[0] * k[1] * (1 if depthwise else ic)
        acc_std = np.sqrt(taps * max(1.0 - zero_fraction, 0.05)) * 74 * 60
        bs = (in_s * ws).astype(np.float32)
        bt = b.const(rng.integers(-int(acc_std), int(acc_std) + 1, size=ocn).astype(np.int32), INT32, bs,
                     np.zeros(ocn, np.int64))
        out_shape = (1, out_size(ih, k[0], stride[0], 1, "SAME"), out_size(iw, k[1], stride[1], 1, "SAME"), ocn)
        out_s = float(in_s * 0.01 * acc_std / 50)
        y = b.act(out_shape, out_s, -128 if act == "RELU" else 0)
        opts = dict(padding=PAD["SAME"], strideH=stride[0], strideW=stride[1], dilationHFactor=1,
                    dilationWFactor=1, fusedActivationFunction=ACT[act])
        if depthwise:
            b.op("DEPTHWISE_CONV_2D", [x, wt, bt], [y], "DepthwiseConv2DOptions", depthMultiplier=1, **opts)
        else:
            b.op("CONV_2D", [x, wt, bt], [y], "Conv2DOptions", **opts)
        return y, out_shape, out_s

    x0 = b.act((1, h, w, 1), 0.05, 3)
    x, shape, s = conv(x0, (1, h, w, 1), 0.05, c, (10, 4), (2, 2))
    for i in range(2):
        d, dshape, ds = conv(x, shape, s, c, (3, 3), (1, 1), depthwise=True)
        p, pshape, ps = conv(d, dshape, ds, c, (1, 1), (1, 1), act="NONE" if residual and i == 1 else "RELU")
        if residual and i == 1:
            out_s = float((ps + s) * 0.8)
            r = b.act(pshape, out_s, -20)
            b.op("ADD", [p, x], [r], "AddOptions", fusedActivationFunction=ACT["RELU"])
            p, ps = r, out_s
        x, shape, s = p, pshape, ps
    pooled = b.act((1, 1, 1, c), s, -128 if not residual else -20)
    b.op("MAX_POOL_2D" if maxpool else "AVERAGE_POOL_2D", [x], [pooled], "Pool2DOptions", padding=PAD["VALID"],
         strideH=shape[1], strideW=shape[2], filterHeight=shape[1], filterWidth=shape[2], fusedActivationFunction=0)
    shp = b.const(np.array([1, c], np.int32), INT32)
    flat = b.act((1, c), s, -128 if not residual else -20)
    b.op("RESHAPE", [pooled, shp], [flat], "ReshapeOptions", newShape=[1, c])
    base = 3.0 / (np.sqrt(c) * 60 * 74 * s)  # logits spread of a few units: softmax not saturated
    ws = _scales(rng, base, 12, True)
    wt = b.const(weights((12, c)), INT8, ws, np.zeros(12, np.int64))
    logits = b.act((1, 12), 3.0 / 40, 0)
    b.op("FULLY_CONNECTED", [flat, wt, -1], [logits], "FullyConnectedOptions", fusedActivationFunction=0)
    y = b.act((1, 12), 1.0 / 256, -128)
    b.op("SOFTMAX", [logits], [y], "SoftmaxOptions", beta=1.0)
    return b.build([x0], [y])


@pytest.mark.parametrize("zero_fraction,residual,maxpool", [(0.0, True, False), (0.6, False, True), (0.9, True, False)])
def test_chain_model_identical(zero_fraction, residual, maxpool, tmp_path, nn_objects):
    rng = np.random.default_rng(int(zero_fraction * 10) + 31)
    tflite = chain_model(rng, zero_fraction, residual, maxpool)
    assert check_identical(tflite, tmp_path, nn_objects, n_inputs=20, per_layer=True) > 0


@pytest.mark.slow
def test_edge_shapes_clean_under_sanitizers(tmp_path, host_cc):
    """Padding/dilation/stride/broadcast edge cases built with -fsanitize=address,undefined: no report, same output."""
    import subprocess

    del host_cc
    rng = np.random.default_rng(11)
    models = [
        conv_model(rng, in_shape=(1, 5, 5, 2), out_c=3, k=(5, 5), padding="SAME", stride=(3, 3)),
        conv_model(rng, depthwise=True, in_shape=(1, 8, 8, 4), k=(5, 3), stride=(1, 2), dm=3, dilation=(2, 1)),
        pool_model(rng, kind="AVERAGE_POOL_2D", k=(3, 2), stride=(2, 3), padding="SAME"),
        add_model(rng, broadcast=True, swap=True),
        softmax_model(rng, shape=(4, 7)),
    ]
    flags = (*cbuild.SANITIZE_FLAGS, "-std=c11", "-Wall", "-Wextra", "-Werror")
    for i, tflite in enumerate(models):
        tm = TflmModel(tflite)
        n_in = int(np.prod(tm.input_shape))
        work = tmp_path / f"m{i}"
        bundle = write_bundle(work / "bundle", tflite, int(np.prod(tm.output_shape)))
        export_c(bundle, work / "gen")
        exe = cbuild.build_model_exe(work / "gen", work / "build", flags=flags)
        xs = rng.integers(-128, 128, size=(8, n_in)).astype(np.int8)
        (work / "in.bin").write_bytes(xs.tobytes())
        proc = subprocess.run([str(exe), str(work / "in.bin"), str(work / "out.bin")], capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
        got = np.frombuffer((work / "out.bin").read_bytes(), np.int8).reshape(len(xs), -1)
        assert np.array_equal(got, np.stack([tm.run(x).reshape(-1) for x in xs]))
