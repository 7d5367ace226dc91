"""The streaming recipe (ds-cnn-s-stream, issue 13): DS-CNN-S valid in time, trainable, and int8 on
the firmware's ops once the exporter folds its frequency PADs into the convolutions."""

from __future__ import annotations

import dataclasses

import numpy as np

import edgekws  # noqa: F401
from edgekws.train.models import build_model
from edgekws.train.recipe import load_recipe

FIRMWARE_OPS = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "MAX_POOL_2D", "ADD",
                "RESHAPE", "SOFTMAX"}


def test_stream_recipe_is_ds_cnn_s_valid_in_time() -> None:
    """Only the padding differs, so the default's weights, training and compression settings apply."""
    s, d = load_recipe("ds-cnn-s-stream"), load_recipe("ds-cnn-s")
    assert s.model.time_padding == "valid"
    assert s.model == dataclasses.replace(d.model, time_padding="valid")
    assert (s.frontend, s.train, s.prune, s.quant) == (d.frontend, d.train, d.prune, d.quant)


def test_each_output_row_depends_only_on_its_own_frames() -> None:
    """Two frames later in time (conv0's stride) the model's last map is the same rows one later:
    what lets a device keep each layer's rows between calls and compute only the new ones.
    Rows on the real-speech frontend (50 frames): 21, 19, 17, 15, 13."""
    import tf_keras as keras

    model = build_model(load_recipe("ds-cnn-s-stream").model, (50, 10), 12)
    rows = [int(model.get_layer(n).output.shape[1]) for n in ("conv0", "dw0", "dw1", "dw2", "dw3")]
    assert rows == [21, 19, 17, 15, 13] and int(model.get_layer("dw3").output.shape[2]) == 5
    rng = np.random.default_rng(0)
    for layer in model.layers:  # random BN statistics too, so the check covers every layer
        layer.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(np.float32) if "bn" in layer.name
                           else rng.standard_normal(w.shape).astype(np.float32) * 0.3
                           for w in layer.get_weights()])
    last = keras.Model(model.input, model.get_layer("pw3_relu").output)
    x = rng.standard_normal((1, 52, 10, 1)).astype(np.float32)
    a, b = last(x[:, :50], training=False).numpy(), last(x[:, 2:], training=False).numpy()
    assert np.abs(a).max() > 0.1
    np.testing.assert_allclose(a[:, 1:], b[:, :-1], rtol=1e-4, atol=1e-4)


def test_one_training_step_then_int8_on_firmware_ops_and_exported(tmp_path) -> None:
    """The streaming form trains (one step here), quantizes with the project's quantizer, and its
    int8 graph, PADs folded, has only ops the firmware implements: the C export accepts it."""
    import tf_keras as keras

    from edgekws.compress.quantize import io_quant, quantize_int8
    from edgekws.export.codegen_c import export_c
    from edgekws.export.tflite_graph import read_graph
    from test_nn_ops import write_bundle

    model = build_model(load_recipe("ds-cnn-s-stream").model, (49, 10), 12)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 49, 10, 1)).astype(np.float32)
    y = keras.utils.to_categorical(rng.integers(0, 12, 16), 12)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy")
    before = model.get_layer("dw0").get_weights()[0].copy()
    model.train_on_batch(x, y)
    assert not np.array_equal(before, model.get_layer("dw0").get_weights()[0])
    tfl = quantize_int8(model, x[:8])
    raw = [op.op for op in read_graph(tfl, fold_pads=False).operators]
    assert raw.count("PAD") == 5, raw  # conv0 and dw0..dw3 are padded in frequency only
    graph = read_graph(tfl)
    ops = {op.op for op in graph.operators}
    assert ops <= FIRMWARE_OPS, ops - FIRMWARE_OPS
    assert [op.options.get("padding") for op in graph.operators if op.op == "DEPTHWISE_CONV_2D"] == ["EXPLICIT"] * 4
    assert io_quant(tfl)[1]["shape"] == [1, 12]
    export_c(write_bundle(tmp_path / "bundle", tfl, 12), tmp_path / "c")
    assert any((tmp_path / "c").iterdir())
