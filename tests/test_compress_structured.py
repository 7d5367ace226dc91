"""Structured filter pruning follows channels through depthwise/pointwise/dense layers exactly."""

from __future__ import annotations

import numpy as np
import pytest

import edgekws  # noqa: F401
from edgekws.compress.prune_structured import (
    channel_groups,
    filter_importance,
    keep_count,
    select_channels,
    shrink_model,
)
from edgekws.train.models import build_model
from edgekws.train.recipe import recipe_from_dict

DS = {"model": {"arch": "ds_cnn", "convs": [{"filters": 8, "kernel": [5, 3], "strides": [2, 2]}],
                "blocks": [8, {"filters": 12, "strides": [2, 2]}]}}
CNN = {"model": {"arch": "cnn", "convs": [{"filters": 8, "kernel": [3, 3], "pool": [2, 2]},
                                          {"filters": 12, "kernel": [3, 3]}]}}


def _model(spec: dict, seed: int = 0):
    import tf_keras as keras

    keras.utils.set_random_seed(seed)
    model = build_model(recipe_from_dict(spec).model, (16, 8), 5)
    # non-trivial BN statistics so that folding matters
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if type(layer).__name__ == "BatchNormalization":
            g, b, m, v = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, g.shape), rng.normal(0, 0.1, b.shape),
                               rng.normal(0, 0.1, m.shape), rng.uniform(0.5, 1.5, v.shape)])
    return model


def test_groups_of_ds_cnn() -> None:
    groups = channel_groups(_model(DS))
    assert [g.producer for g in groups] == ["conv0", "pw0", "pw1"]
    assert groups[0].members == ["conv0_bn", "dw0", "dw0_bn"] and groups[0].consumer == "pw0"
    assert groups[2].consumer == "fc"


def test_keep_count_rounding() -> None:
    assert keep_count(64, 0.5) == 32
    assert keep_count(64, 0.8) == 12
    assert keep_count(8, 0.99) == 4  # never below one SIMD group
    assert keep_count(6, 0.5, multiple=1) == 3


@pytest.mark.slow
@pytest.mark.parametrize("spec", [DS, CNN], ids=["ds_cnn", "cnn"])
def test_removing_dead_channels_keeps_outputs_identical(spec: dict) -> None:
    """Kill some channels (zero filter, zero BN offsets) so they contribute nothing, then remove them."""
    model = _model(spec)
    rng = np.random.default_rng(1)
    keep = {}
    for g in channel_groups(model):
        dead = rng.choice(g.channels, size=g.channels // 2, replace=False)
        conv = model.get_layer(g.producer)
        w = conv.get_weights()
        w[0][..., dead] = 0.0
        conv.set_weights(w)
        for name in g.members:
            layer = model.get_layer(name)
            if type(layer).__name__ == "BatchNormalization":
                gm, b, m, v = layer.get_weights()
                b[dead] = 0.0
                m[dead] = 0.0
                layer.set_weights([gm, b, m, v])
        keep[g.producer] = np.setdiff1d(np.arange(g.channels), dead)
    small = shrink_model(model, keep)
    assert small.count_params() < model.count_params()
    x = rng.normal(size=(4, 16, 8, 1)).astype(np.float32)
    np.testing.assert_allclose(small.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)
    # importance ranking finds exactly the dead filters
    sel = select_channels(model, 0.5, "l1", multiple=1)
    for name, idx in keep.items():
        assert np.array_equal(sel[name], idx)


def test_importance_methods_differ_but_rank_dead_last() -> None:
    model = _model(DS)
    g = channel_groups(model)[1]
    scores = {m: filter_importance(model, g, m) for m in ("l1", "l2", "bn")}
    assert all(s.shape == (8,) for s in scores.values())
    assert not np.allclose(scores["l1"], scores["bn"])
