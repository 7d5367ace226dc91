"""Training on small synthetic features: learns, is seeded, writes checkpoint + train.json."""

from __future__ import annotations

import json

import numpy as np
import pytest

import edgekws  # noqa: F401
from edgekws.train.data import synthetic_feature_data
from edgekws.train.recipe import recipe_from_dict
from edgekws.train.trainer import confusion_matrix, train_model

TINY = {"name": "tiny", "model": {"arch": "ds_cnn", "convs": [{"filters": 8, "kernel": [10, 4], "strides": [2, 2]}],
                                  "blocks": [8]},
        "train": {"epochs": 15, "batch_size": 32, "learning_rate": 0.01, "patience": 15}}


def test_confusion_matrix_counts() -> None:
    cm = confusion_matrix(np.array([0, 1, 1, 2]), np.array([0, 1, 2, 2]), 3)
    assert cm.tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]


def test_synthetic_data_normalisation() -> None:
    d = synthetic_feature_data(4, frames=12, feats=5)
    z = d.norm(d.x_train)
    assert z.shape == (48, 12, 5, 1)
    assert np.allclose(z.mean(axis=(0, 1, 3)), 0, atol=1e-4)
    assert len(d.input_norm["mean"]) == 5


@pytest.mark.slow
def test_train_learns_and_is_reproducible(tmp_path) -> None:
    data = synthetic_feature_data(20, frames=16, feats=8, seed=5)
    recipe = recipe_from_dict(TINY)
    r1 = train_model(recipe, None, tmp_path / "a", data=data, progress=False, verbose=False)
    assert r1.float_accuracy > 0.5  # chance is 1/12
    meta = json.loads((tmp_path / "a" / "train.json").read_text())
    assert meta["float_accuracy"] == pytest.approx(r1.float_accuracy)
    assert np.asarray(meta["confusion"]).sum() == len(data.y_test)
    assert (tmp_path / "a" / "model_keras.h5").is_file()
    r2 = train_model(recipe, None, tmp_path / "b", data=data, progress=False, verbose=False)
    assert r2.history["loss"] == pytest.approx(r1.history["loss"], rel=1e-4)
