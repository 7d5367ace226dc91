"""A student started from an int8 bundle computes what the bundle computes (edgekws.train.init_weights)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgekws.data.speech_commands import LABELS
from edgekws.errors import ConfigError

DEFAULT = Path(__file__).resolve().parents[1] / "models" / "default"
STREAM = DEFAULT.parent / "stream"  # ds-cnn-s-stream: its PADs fold into EXPLICIT convolutions


def _student(recipe: str, shape: tuple[int, int]):
    from edgekws.train.models import build_model
    from edgekws.train.recipe import load_recipe

    return build_model(load_recipe(recipe).model, shape, len(LABELS))


@pytest.mark.parametrize("recipe, bundle", [("ds-cnn-s", DEFAULT), ("ds-cnn-s-stream", STREAM)])
def test_loaded_student_matches_the_bundle_on_its_test_set(recipe: str, bundle: Path) -> None:
    """Float Keras with the dequantised weights vs the int8 bundle on TFLite Micro: same decisions.
    The streaming bundle's convolutions carry their folded frequency pad (EXPLICIT): loaded exactly."""
    from edgekws.tflm import TflmModel
    from edgekws.train.init_weights import load_bundle_weights

    meta = json.loads((bundle / "bundle.json").read_text())
    ts = np.load(bundle / "testset.npz")
    model = _student(recipe, ts["x_int8"].shape[1:3])
    said: list[str] = []
    names = load_bundle_weights(model, bundle, list(LABELS), log=said.append)
    assert names == ["conv0", "dw0", "pw0", "dw1", "pw1", "dw2", "pw2", "dw3", "pw3", "fc"] and not said
    q_in, q_out = meta["input"], meta["output"]
    x = (ts["x_int8"].astype(np.float32) - q_in["zero_point"]) * q_in["scale"]
    p_float = model.predict(x, verbose=0)
    out = TflmModel(bundle / "model.tflite").run_batch(list(ts["x_int8"])).reshape(len(x), -1)
    p_int8 = (out.astype(np.float32) - q_out["zero_point"]) * q_out["scale"]
    flips = np.argmax(p_float, 1) != np.argmax(p_int8, 1)
    top2 = np.sort(p_int8, 1)[:, -2:]
    # int8 rounding flips a near-tie now and then, nothing more
    assert flips.mean() <= 0.1 and np.all(top2[flips, 1] - top2[flips, 0] < 0.05), (flips.mean(), top2[flips])
    assert np.abs(p_float - p_int8).mean() < 0.01


def test_a_recipe_that_is_not_the_bundles_architecture_is_refused() -> None:
    from edgekws.train.init_weights import load_bundle_weights

    shape = tuple(np.load(DEFAULT / "testset.npz")["x_int8"].shape[1:3])
    with pytest.raises(ConfigError, match="conv0: stride"):
        load_bundle_weights(_student("ds-cnn-m", shape), DEFAULT, list(LABELS))
    with pytest.raises(ConfigError, match="labels"):
        load_bundle_weights(_student("ds-cnn-s", shape), DEFAULT, list(reversed(LABELS)))
    with pytest.raises(ConfigError, match="conv0: padding same .* explicit padding \\[0, 0, 1, 1\\]"):
        load_bundle_weights(_student("ds-cnn-s", shape), STREAM, list(LABELS))


def _stream_student(shape: tuple[int, int]):
    return _student("ds-cnn-s-stream", shape)


def test_a_same_bundle_loads_into_the_streaming_form_only_when_asked_and_named() -> None:
    """ds-cnn-s-stream (valid in time) starts from a SAME bundle: refused unless the caller says
    time_padding="valid"; then logged by layer, and every row it computes is the SAME model's row
    at that place (the same kernels; only the rows made from SAME's zero time padding are gone)."""
    import tf_keras as keras

    from edgekws.train.init_weights import load_bundle_weights

    x_int8 = np.load(DEFAULT / "testset.npz")["x_int8"][:8]
    shape = tuple(x_int8.shape[1:3])
    stream = _stream_student(shape)
    with pytest.raises(ConfigError, match="conv0: padding valid but the bundle's CONV_2D has SAME"):
        load_bundle_weights(stream, DEFAULT, list(LABELS))
    said: list[str] = []
    load_bundle_weights(stream, DEFAULT, list(LABELS), time_padding="valid", log=said.append)
    assert len(said) == 1 and "valid-in-time conv0, dw0, dw1, dw2, dw3 " in said[0], said
    same = _student("ds-cnn-s", shape)
    load_bundle_weights(same, DEFAULT, list(LABELS))
    x = x_int8.astype(np.float32) / 16.0

    def last_map(model):
        return keras.Model(model.input, model.get_layer("pw3").output)(x, training=False).numpy()

    a, b = last_map(stream), last_map(same)
    # rows: conv0 (kernel 10, stride 2, SAME's top pad 4) drops 2 SAME rows, each 3x3 depthwise 1 more
    assert a.shape[1] == (shape[0] - 10) // 2 + 1 - 8
    np.testing.assert_allclose(a, b[:, 6:6 + a.shape[1]], rtol=1e-4, atol=1e-4)


def test_the_streaming_form_needs_sames_frequency_pad() -> None:
    """A valid-in-time model whose frequency pad is not SAME's split would see shifted inputs:
    refused even with time_padding="valid"."""
    import tf_keras as keras

    from edgekws.train.init_weights import load_bundle_weights

    shape = tuple(np.load(DEFAULT / "testset.npz")["x_int8"].shape[1:3])

    def shifted(layer):
        if layer.name == "conv0_fpad":  # SAME's (1, 1) for 10 features, kernel 4, stride 2
            return keras.layers.ZeroPadding2D(((0, 0), (0, 2)), name=layer.name)
        return layer.__class__.from_config(layer.get_config())

    model = keras.models.clone_model(_stream_student(shape), clone_function=shifted)
    with pytest.raises(ConfigError, match="conv0: padding valid .* not SAME's frequency pad"):
        load_bundle_weights(model, DEFAULT, list(LABELS), time_padding="valid")
