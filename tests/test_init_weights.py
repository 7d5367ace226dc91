"""A student started from an int8 bundle computes what the bundle computes (edgekws.train.init_weights)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgekws.data.speech_commands import LABELS
from edgekws.errors import ConfigError

DEFAULT = Path(__file__).resolve().parents[1] / "models" / "default"


def _student(recipe: str, shape: tuple[int, int]):
    from edgekws.train.models import build_model
    from edgekws.train.recipe import load_recipe

    return build_model(load_recipe(recipe).model, shape, len(LABELS))


def test_loaded_student_matches_the_bundle_on_its_test_set() -> None:
    """Float Keras with the dequantised weights vs the int8 bundle on TFLite Micro: same decisions."""
    from edgekws.tflm import TflmModel
    from edgekws.train.init_weights import load_bundle_weights

    meta = json.loads((DEFAULT / "bundle.json").read_text())
    ts = np.load(DEFAULT / "testset.npz")
    model = _student("ds-cnn-s", ts["x_int8"].shape[1:3])
    names = load_bundle_weights(model, DEFAULT, list(LABELS))
    assert names == ["conv0", "dw0", "pw0", "dw1", "pw1", "dw2", "pw2", "dw3", "pw3", "fc"]
    q_in, q_out = meta["input"], meta["output"]
    x = (ts["x_int8"].astype(np.float32) - q_in["zero_point"]) * q_in["scale"]
    p_float = model.predict(x, verbose=0)
    out = TflmModel(DEFAULT / "model.tflite").run_batch(list(ts["x_int8"])).reshape(len(x), -1)
    p_int8 = (out.astype(np.float32) - q_out["zero_point"]) * q_out["scale"]
    agree = np.mean(np.argmax(p_float, 1) == np.argmax(p_int8, 1))
    assert agree >= 0.95, agree  # int8 rounding flips a near-tie now and then, nothing more
    assert np.abs(p_float - p_int8).mean() < 0.01


def test_a_recipe_that_is_not_the_bundles_architecture_is_refused() -> None:
    from edgekws.train.init_weights import load_bundle_weights

    shape = tuple(np.load(DEFAULT / "testset.npz")["x_int8"].shape[1:3])
    with pytest.raises(ConfigError, match="conv0: stride"):
        load_bundle_weights(_student("ds-cnn-m", shape), DEFAULT, list(LABELS))
    with pytest.raises(ConfigError, match="labels"):
        load_bundle_weights(_student("ds-cnn-s", shape), DEFAULT, list(reversed(LABELS)))
