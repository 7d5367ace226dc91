"""Feature-level augmentation in training: SpecAugment masks, mixup, label smoothing as recipe options."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import yaml

import edgekws  # noqa: F401
from edgekws.errors import ConfigError
from edgekws.train.data import synthetic_feature_data
from edgekws.train.recipe import TrainSpec, load_recipe, recipe_from_dict
from edgekws.train.trainer import augmented_batches, mixup, spec_augment, train_model

TINY = {"name": "tiny", "model": {"arch": "ds_cnn", "convs": [{"filters": 8, "kernel": [10, 4], "strides": [2, 2]}],
                                  "blocks": [8]},
        "train": {"epochs": 15, "batch_size": 32, "learning_rate": 0.01, "patience": 15,
                  "time_masks": 2, "time_mask_frames": 3, "freq_masks": 1, "freq_mask_bins": 2,
                  "mixup_alpha": 0.2, "label_smoothing": 0.05}}


def test_spec_augment_masks_whole_bands_within_limits():
    x = np.ones((64, 49, 10, 1), np.float32)
    y = spec_augment(x, np.random.default_rng(0), time_masks=2, time_mask_frames=8, freq_masks=2, freq_mask_bins=3)
    assert np.all(x == 1.0)  # input untouched
    zero = y[..., 0] == 0.0
    for i in range(64):
        rows = np.flatnonzero(zero[i].all(axis=1))   # fully masked frames
        cols = np.flatnonzero(zero[i].all(axis=0))   # fully masked coefficients
        # every zero lies in a masked frame or a masked coefficient
        assert np.all(zero[i] == (np.isin(np.arange(49), rows)[:, None] | np.isin(np.arange(10), cols)[None, :]))
        assert len(rows) <= 16 and len(cols) <= 6
    assert zero.mean() > 0.05  # masks happen
    same = spec_augment(x, np.random.default_rng(0), time_masks=2, time_mask_frames=8, freq_masks=2, freq_mask_bins=3)
    np.testing.assert_array_equal(y, same)


def test_mixup_keeps_targets_distributions_and_mixes_inputs():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((32, 5, 4, 1)).astype(np.float32)
    y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 32)]
    xm, ym = mixup(x, y, 0.4, np.random.default_rng(2))
    np.testing.assert_allclose(ym.sum(axis=1), 1.0, atol=1e-6)
    assert (ym * y).sum(axis=1).min() >= 0.5 - 1e-6  # the example's own label keeps at least half
    assert (ym * y).sum(axis=1).min() < 0.99  # and some examples really are mixed
    assert not np.allclose(xm, x)


def test_batches_are_reproducible_and_change_per_epoch():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((100, 12, 6, 1)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 100)]
    spec = TrainSpec(time_masks=1, time_mask_frames=4, mixup_alpha=0.3)
    a, b = augmented_batches(x, y, 32, 7, spec), augmented_batches(x, y, 32, 7, spec)
    assert len(a) == 4
    np.testing.assert_array_equal(a[1][0], b[1][0])
    first = a[1][0].copy()
    a.on_epoch_end()
    assert not np.array_equal(a[1][0], first)


def test_recipe_round_trip_and_validation(tmp_path):
    r = recipe_from_dict(TINY)
    assert r.train.feature_augment and r.train.mixup_alpha == 0.2
    d = r.to_dict()
    assert d["train"]["time_mask_frames"] == 3 and d["train"]["label_smoothing"] == 0.05
    assert recipe_from_dict(json.loads(json.dumps(d))) == r
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(d))
    assert load_recipe(path) == r
    assert not TrainSpec().feature_augment
    for bad, needle in [({"mixup_alpha": -1.0}, "mixup_alpha"), ({"label_smoothing": 1.0}, "label_smoothing"),
                        ({"time_masks": -1}, "time_masks")]:
        with pytest.raises(ConfigError, match=needle):
            recipe_from_dict({**TINY, "train": {**TINY["train"], **bad}})


@pytest.mark.slow
def test_training_with_feature_augmentation_learns_and_is_reproducible(tmp_path):
    data = synthetic_feature_data(20, frames=16, feats=8, seed=5)
    recipe = recipe_from_dict(TINY)
    r1 = train_model(recipe, None, tmp_path / "a", data=data, progress=False, verbose=False)
    assert r1.float_accuracy > 0.5  # chance is 1/12
    r2 = train_model(recipe, None, tmp_path / "b", data=data, progress=False, verbose=False)
    assert r2.history["loss"] == pytest.approx(r1.history["loss"], rel=1e-4)
    plain = dataclasses.replace(recipe, train=dataclasses.replace(recipe.train, mixup_alpha=0.0, time_masks=0,
                                                                 freq_masks=0, label_smoothing=0.0))
    r3 = train_model(plain, None, tmp_path / "c", data=data, progress=False, verbose=False)
    assert r3.history["loss"] != pytest.approx(r1.history["loss"], rel=1e-3)  # the options act
