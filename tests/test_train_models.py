"""Every zoo model converts to int8 TFLite with only the ops the firmware implements."""

from __future__ import annotations

import numpy as np
import pytest

import edgekws  # noqa: F401
from edgekws.train.models import build_model
from edgekws.train.recipe import load_recipe

FIRMWARE_OPS = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "MAX_POOL_2D", "ADD",
                "RESHAPE", "SOFTMAX"}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ds-cnn-s", "paper-cnn", "cnn-baseline"])
def test_int8_conversion_uses_firmware_ops_only(name: str) -> None:
    from edgekws.compress.quantize import io_quant, quantize_int8
    from edgekws.export.tflite_graph import read_graph

    model = build_model(load_recipe(name).model, (49, 10), 12)
    assert model.output_shape == (None, 12)
    calib = np.random.default_rng(0).normal(size=(8, 49, 10, 1)).astype(np.float32)
    tfl = quantize_int8(model, calib)
    ops = {op.op for op in read_graph(tfl).operators}
    assert ops <= FIRMWARE_OPS, ops - FIRMWARE_OPS
    inp, out = io_quant(tfl)
    assert inp["dtype"] == out["dtype"] == "int8"
    assert inp["shape"] == [1, 49, 10, 1] and out["shape"] == [1, 12]


def test_ds_cnn_s_size_is_hello_edge_size() -> None:
    from edgekws.train.models import count_params

    model = build_model(load_recipe("ds-cnn-s").model, (49, 10), 12)
    # Hello Edge DS-CNN-S: ~24k parameters (conv 10x4x64 + 4x(3x3 DW + 64x64 PW) + 64x12 FC)
    assert 20_000 < count_params(model) < 26_000
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("DepthwiseConv2D") == 4
    assert "GlobalAveragePooling2D" not in kinds


@pytest.fixture(scope="module")
def valid_time_tflite() -> bytes:
    """A small DS-CNN, VALID in time and SAME in frequency, quantized (the streaming-aware form)."""
    import dataclasses

    from edgekws.compress.quantize import quantize_int8

    spec = dataclasses.replace(load_recipe("ds-cnn-s").model, time_padding="valid",
                               convs=(load_recipe("ds-cnn-s").model.convs[0].__class__(8, (10, 4), (2, 2)),),
                               blocks=(load_recipe("ds-cnn-s").model.blocks[0].__class__(8),) * 2)
    model = build_model(spec, (50, 10), 12)
    calib = np.random.default_rng(1).normal(size=(8, 50, 10, 1)).astype(np.float32)
    return quantize_int8(model, calib)


def test_valid_time_model_pads_only_frequency() -> None:
    import dataclasses

    spec = dataclasses.replace(load_recipe("ds-cnn-s").model, time_padding="valid")
    model = build_model(spec, (50, 10), 12)
    shapes = {ly.name: tuple(ly.output_shape[1:3]) for ly in model.layers if ly.name.startswith(("conv", "dw", "pw"))}
    # time: 50 -> 21 (10 taps, stride 2) -> 19 -> 17 -> 15 -> 13; frequency stays SAME: 10 -> 5 -> 5
    assert shapes["conv0"] == (21, 5) and shapes["dw0"] == (19, 5) and shapes["dw3"] == (13, 5)
    assert shapes["pw3"] == (13, 5)
    same = build_model(load_recipe("ds-cnn-s").model, (50, 10), 12)
    assert same.get_layer("dw3").output_shape[1:3] == (25, 5)


def test_unknown_time_padding_is_one_config_error() -> None:
    from edgekws.errors import ConfigError
    from edgekws.train.recipe import recipe_from_dict

    with pytest.raises(ConfigError, match="time_padding must be one of same, valid"):
        recipe_from_dict({"model": {"arch": "ds_cnn", "convs": [{"filters": 8}], "time_padding": "causal"}})


def test_valid_time_model_folds_its_pads_into_the_convolutions(valid_time_tflite: bytes) -> None:
    from edgekws.export.tflite_graph import read_graph

    raw = read_graph(valid_time_tflite, fold_pads=False)
    assert [op.op for op in raw.operators].count("PAD") == 3  # before conv0 and the two depthwise layers
    folded = read_graph(valid_time_tflite)
    assert {op.op for op in folded.operators} <= FIRMWARE_OPS
    assert [op.index for op in folded.operators] == list(range(len(folded.operators)))
    convs = [op for op in folded.operators if op.options.get("padding") == "EXPLICIT"]
    assert len(convs) == 3 and all(op.options["pad"] == [0, 0, 1, 1] for op in convs)
    assert convs[0].inputs[0] == folded.inputs[0]  # the folded conv reads the model input itself


@pytest.mark.slow
def test_valid_time_model_runs_identically_in_c(valid_time_tflite: bytes, tmp_path) -> None:
    """The folded padding reaches the C kernels (ref and simd) exactly: every layer equals TFLite Micro's."""
    from edgekws.export.tflite_graph import read_graph
    from test_nn_ops import check_identical

    ops = [op.op for op in read_graph(valid_time_tflite).operators]
    simd = ["simd" if op in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED") else "ref" for op in ops]
    for backends in (["ref"] * len(ops), simd):
        work = tmp_path / backends[0]
        assert check_identical(valid_time_tflite, work, None, n_inputs=4, per_layer=True, backends=backends) > 0


def test_a_pad_the_convolution_cannot_absorb_stays_and_is_refused(tmp_path) -> None:
    """PAD before a SAME convolution is not folded (the paddings would add up): one line naming the op."""
    import tf_keras as keras

    from edgekws.compress.quantize import quantize_int8
    from edgekws.errors import ModelError
    from edgekws.export.codegen_c import build_layers
    from edgekws.export.tflite_graph import read_graph

    inp = keras.Input(shape=(12, 10, 1))
    x = keras.layers.ZeroPadding2D(((0, 0), (1, 1)))(inp)
    x = keras.layers.Conv2D(4, (3, 3), padding="same", activation="relu")(x)
    x = keras.layers.Flatten()(x)
    out = keras.layers.Dense(3)(x)
    tfl = quantize_int8(keras.Model(inp, out), np.random.default_rng(2).normal(size=(4, 12, 10, 1)).astype(np.float32))
    graph = read_graph(tfl)
    assert graph.operators[0].op == "PAD"
    with pytest.raises(ModelError, match="unsupported op PAD"):
        build_layers(graph, ["ref"] * len(graph.operators))
