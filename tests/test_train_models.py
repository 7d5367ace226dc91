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
