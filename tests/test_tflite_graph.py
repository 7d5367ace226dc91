"""The .tflite reader and the per-layer summary the bundle is filled from."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgekws.errors import ModelError
from edgekws.export.tflite_graph import layer_names, layer_summary, read_graph
from test_nn_ops import chain_model, conv_model, fc_model

KEYS = {"index", "name", "op", "input_shape", "output_shape", "params", "macs", "sparsity", "nonzeros"}


def test_read_graph_ops_shapes_quant(tmp_path):
    tflite = chain_model(np.random.default_rng(0))
    g = read_graph(tflite)
    p = tmp_path / "m.tflite"
    p.write_bytes(tflite)
    assert [op.op for op in read_graph(p).operators] == [op.op for op in g.operators]
    assert [op.op for op in g.operators] == ["CONV_2D", "DEPTHWISE_CONV_2D", "CONV_2D", "DEPTHWISE_CONV_2D",
                                             "CONV_2D", "ADD", "AVERAGE_POOL_2D", "RESHAPE", "FULLY_CONNECTED",
                                             "SOFTMAX"]
    conv = g.operators[0]
    assert conv.options == {"padding": "SAME", "stride_h": 2, "stride_w": 2, "dilation_h": 1, "dilation_w": 1,
                            "activation": "RELU"}
    assert g.tensors[g.inputs[0]].shape == (1, 49, 10, 1)
    w = g.tensors[conv.inputs[1]]
    assert w.dtype == "int8" and w.is_const and w.shape == (8, 10, 4, 1)
    assert w.quant.per_channel and w.quant.scale.size == 8 and w.quant.axis == 0
    dw = g.tensors[g.operators[1].inputs[1]]
    assert dw.quant.axis == 3
    bias = g.tensors[conv.inputs[2]]
    assert bias.dtype == "int32" and bias.data.shape == (8,)
    assert g.tensors[g.outputs[0]].quant.zero_point[0] == -128
    assert layer_names(g)[:3] == ["conv2d_0", "depthwise_conv2d_0", "conv2d_1"]


def test_layer_summary_figures():
    rng = np.random.default_rng(1)
    tflite = conv_model(rng, in_shape=(1, 9, 7, 3), out_c=4, k=(3, 3), stride=(2, 2), padding="SAME")
    (row,) = layer_summary(tflite)
    assert set(row) >= KEYS
    assert row["output_shape"] == [1, 5, 4, 4]
    assert row["macs"] == 5 * 4 * 4 * 3 * 3 * 3
    assert row["params"] == 4 * 3 * 3 * 3 + 4
    w = read_graph(tflite).tensors[1].data
    assert row["nonzeros"] == int(np.count_nonzero(w))
    assert row["sparsity"] == pytest.approx(1 - row["nonzeros"] / w.size, abs=1e-6)
    json.dumps(row)


def test_layer_summary_sparsity_of_zeroed_model():
    rows = layer_summary(chain_model(np.random.default_rng(2), zero_fraction=0.7))
    weighted = [r for r in rows if r["op"] in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")]
    assert len(weighted) == 6
    assert all(0.5 < r["sparsity"] < 0.9 for r in weighted)
    assert all(r["macs"] == 0 and r["nonzeros"] == 0 for r in rows if r["op"] in ("ADD", "SOFTMAX", "RESHAPE"))
    json.dumps(rows)


def test_fc_macs():
    (row,) = layer_summary(fc_model(np.random.default_rng(3), in_shape=(1, 20), units=6))
    assert row["macs"] == 120 and row["input_shape"] == [1, 20] and row["output_shape"] == [1, 6]


@pytest.mark.parametrize("data", [b"", b"hello world, not a model", b"\x00" * 64])
def test_garbage_is_one_line_model_error(data):
    with pytest.raises(ModelError) as e:
        read_graph(data)
    assert "\n" not in str(e.value)


def test_truncated_model_is_model_error():
    tflite = chain_model(np.random.default_rng(0))
    with pytest.raises(ModelError):
        read_graph(tflite[: len(tflite) // 3])


def test_missing_file(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        read_graph(tmp_path / "nope.tflite")
