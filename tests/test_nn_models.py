"""Whole Keras-converted int8 models through export + host-built C vs TFLite Micro: identical outputs,
layer by layer. Models: a DS-CNN-like net, the same with most weights zeroed (unstructured sparsity),
and a plain CNN with max pooling and a residual add."""

from __future__ import annotations

import numpy as np
import pytest

import cbuild
from edgekws.export.codegen_c import export_c
from edgekws.export.tflite_graph import layer_summary
from test_nn_ops import check_identical, write_bundle

pytestmark = pytest.mark.slow


def _convert(model, input_shape, seed: int = 0) -> bytes:
    import tensorflow as tf

    rng = np.random.default_rng(seed)

    def rep():
        for _ in range(16):
            yield [rng.standard_normal((1, *input_shape)).astype(np.float32)]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    return conv.convert()


def dscnn(channels: int = 16, blocks: int = 2):
    import tf_keras as keras

    i = keras.Input((49, 10, 1))
    x = keras.layers.Conv2D(channels, (10, 4), strides=2, padding="same")(i)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU()(x)
    for _ in range(blocks):
        x = keras.layers.DepthwiseConv2D(3, padding="same")(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.ReLU()(x)
        x = keras.layers.Conv2D(channels, 1)(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.ReLU()(x)
    x = keras.layers.AveragePooling2D(pool_size=(int(x.shape[1]), int(x.shape[2])))(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(12)(x)
    x = keras.layers.Softmax()(x)
    return keras.Model(i, x)


def plain_cnn():
    import tf_keras as keras

    i = keras.Input((49, 10, 1))
    x = keras.layers.Conv2D(8, (5, 3), padding="same", activation="relu")(i)
    x = keras.layers.MaxPooling2D((2, 2))(x)
    y = keras.layers.Conv2D(8, (3, 3), padding="same", activation="relu")(x)
    x = keras.layers.Add()([x, y])
    x = keras.layers.Conv2D(12, (3, 3), strides=(2, 1), padding="valid", activation="relu6")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(32, activation="relu")(x)
    x = keras.layers.Dense(12)(x)
    x = keras.layers.Softmax()(x)
    return keras.Model(i, x)


def _zero_weights(model, fraction: float, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        ws = layer.get_weights()
        if ws and ws[0].ndim >= 2:
            k = ws[0].copy()
            k[rng.random(k.shape) < fraction] = 0.0
            k /= np.sqrt(1.0 - fraction)  # keep activations from vanishing through the stack
            layer.set_weights([k, *ws[1:]])


@pytest.fixture(scope="module")
def nn_objects(tmp_path_factory):
    return cbuild.compile_objects(cbuild.nn_sources(), tmp_path_factory.mktemp("nnobj"))


def test_dscnn_identical(tmp_path, nn_objects):
    tflite = _convert(dscnn(), (49, 10, 1))
    assert check_identical(tflite, tmp_path, nn_objects, n_inputs=30, per_layer=True) > 0


def test_sparse_dscnn_identical(tmp_path, nn_objects):
    model = dscnn(channels=24, blocks=3)
    _zero_weights(model, 0.8)
    tflite = _convert(model, (49, 10, 1), seed=1)
    rows = layer_summary(tflite)
    conv_rows = [r for r in rows if r["op"] in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")]
    assert all(r["sparsity"] > 0.6 for r in conv_rows)
    assert check_identical(tflite, tmp_path, nn_objects, n_inputs=30, per_layer=True) > 0


def test_plain_cnn_with_residual_identical(tmp_path, nn_objects):
    tflite = _convert(plain_cnn(), (49, 10, 1), seed=2)
    ops = {r["op"] for r in layer_summary(tflite)}
    assert {"MAX_POOL_2D", "ADD", "FULLY_CONNECTED", "SOFTMAX"} <= ops
    assert check_identical(tflite, tmp_path, nn_objects, n_inputs=30, per_layer=True) > 0


def test_vanishing_softmax_scale_is_a_model_error(tmp_path):
    """A degenerate model TFLite Micro would abort on (softmax input scale ~1e-8) gets a one-line error."""
    import tf_keras

    from edgekws.errors import ModelError

    tf_keras.utils.set_random_seed(0)  # the weights must not depend on which tests ran before
    model = dscnn(channels=24, blocks=3)
    rng = np.random.default_rng(0)
    for layer in model.layers:
        ws = layer.get_weights()
        if ws and ws[0].ndim >= 2:
            k = ws[0].copy()
            k[rng.random(k.shape) < 0.8] = 0.0
            layer.set_weights([k, *ws[1:]])
    tflite = _convert(model, (49, 10, 1), seed=1)
    with pytest.raises(ModelError, match="softmax input scale"):
        export_c(write_bundle(tmp_path / "b", tflite, 12), tmp_path / "g")


def test_testset_selftest_vectors_pass_on_host(tmp_path, nn_objects):
    tflite = _convert(dscnn(), (49, 10, 1))
    b = write_bundle(tmp_path / "b", tflite, 12)
    x = np.random.default_rng(4).integers(-128, 128, size=(8, 49, 10, 1)).astype(np.int8)
    np.savez(b / "testset.npz", x_int8=x)
    export_c(b, tmp_path / "g")
    lib = cbuild.build_model_lib(tmp_path / "g", tmp_path / "build", nn_objects=nn_objects)
    assert lib.selftest() == 0


def _he_init(model, seed: int = 0) -> None:
    """He-normal kernels, so an untrained deep stack keeps its activation scale (an untrained zoo model's
    activations shrink ~10x per layer, down to a softmax input scale TFLite Micro aborts on)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        ws = layer.get_weights()
        if ws and ws[0].ndim == 4:
            k = ws[0]
            depthwise = "depthwise" in type(layer).__name__.lower()
            fan_in = k.shape[0] * k.shape[1] * (1 if depthwise else k.shape[2])
            layer.set_weights([rng.standard_normal(k.shape).astype(np.float32) * np.sqrt(2.0 / fan_in), *ws[1:]])


def _recipes() -> list[str]:
    from edgekws.train.recipe import available_recipes

    return list(available_recipes())


@pytest.mark.parametrize("recipe", _recipes())
def test_model_zoo_recipe_identical(recipe, tmp_path):
    """Every recipe of the model zoo, as the train/compress stages build and quantize it."""
    from edgekws.compress.quantize import quantize_int8
    from edgekws.train.models import build_model
    from edgekws.train.recipe import load_recipe

    model = build_model(load_recipe(recipe).model, (49, 10), 12)
    _he_init(model)
    tflite = quantize_int8(model, np.random.default_rng(0).standard_normal((16, 49, 10, 1)).astype(np.float32))
    assert check_identical(tflite, tmp_path, None, n_inputs=10, per_layer=True) > 0
