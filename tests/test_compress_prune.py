"""Every granularity end to end on a tiny trained model: the int8 TFLite weights carry the pattern,
accuracy is measured with TFLite Micro, and the bundle records the drop."""

from __future__ import annotations

import numpy as np
import pytest

import edgekws  # noqa: F401
from edgekws.compress.prune import PruneConfig, prune
from edgekws.errors import ConfigError

TINY = {"name": "tiny", "model": {"arch": "ds_cnn", "convs": [{"filters": 8, "kernel": [5, 4], "strides": [2, 2]}],
                                  "blocks": [16, 16]},
        "train": {"epochs": 12, "batch_size": 32, "learning_rate": 0.01, "patience": 12}}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from edgekws.train.data import synthetic_feature_data
    from edgekws.train.recipe import recipe_from_dict
    from edgekws.train.trainer import train_model

    data = synthetic_feature_data(12, frames=16, feats=8, seed=5)
    res = train_model(recipe_from_dict(TINY), None, tmp_path_factory.mktemp("t"), data=data, progress=False,
                      verbose=False)
    assert res.float_accuracy > 0.5
    return res


def _weights(tflite: bytes, op: str) -> list[np.ndarray]:
    from edgekws.export.tflite_graph import read_graph

    g = read_graph(tflite)
    return [g.tensors[o.inputs[1]].data for o in g.operators if o.op == op]


def test_config_validation() -> None:
    with pytest.raises(ConfigError, match="granularity"):
        PruneConfig("channel")
    with pytest.raises(ConfigError, match="sparsity"):
        PruneConfig("element", 1.0)
    assert PruneConfig("nm").effective_sparsity == 0.5
    assert PruneConfig("block", 0.7, block=(4, 1)).label() == "block4x1-70"


@pytest.mark.slow
@pytest.mark.parametrize("gran, sparsity", [("element", 0.8), ("nm", 0.5), ("block", 0.5), ("kernel", 0.5),
                                            ("filter", 0.5)])
def test_granularity_pattern_survives_int8(trained, gran: str, sparsity: float, tmp_path) -> None:
    from edgekws.compress.finalize import finalize_bundle

    res = prune(trained.model, trained.data, PruneConfig(gran, sparsity, epochs=3, learning_rate=0.003),
                progress=False)
    base = {"name": "tiny", "float": trained.float_accuracy, "int8": trained.float_accuracy, "weights": None}
    b = finalize_bundle(res.model, trained.data, tmp_path / gran, name=gran, recipe={"name": "tiny"},
                        compression=res.compression(), baseline=base, onnx=False, calibration_samples=24,
                        testset_max=24, progress=False)
    tfl = b.tflite_bytes()
    convs = _weights(tfl, "CONV_2D")  # [cout, kh, kw, cin]; convs[0] is the (skipped) first conv
    rep = b.report
    assert rep["granularity"] == gran and "accuracy_drop" in rep
    if gran == "element":
        for w in convs[1:] + _weights(tfl, "FULLY_CONNECTED"):
            assert np.mean(w == 0) == pytest.approx(0.8, abs=0.02)
        assert np.mean(convs[0] == 0) < 0.1
    elif gran == "nm":
        for w in convs[1:]:
            groups = w.reshape(w.shape[0], -1, 4)
            assert np.all((groups != 0).sum(axis=-1) <= 2)
    elif gran == "block":
        for w in convs[1:]:
            blocks = w.reshape(w.shape[0], -1, 4)
            zero_blocks = np.all(blocks == 0, axis=-1)
            assert zero_blocks.mean() == pytest.approx(0.5, abs=0.02)
    elif gran == "kernel":
        dws = _weights(tfl, "DEPTHWISE_CONV_2D")  # [1, kh, kw, c]: a pruned kernel is a zero channel
        for w in dws:
            assert np.mean(np.all(w == 0, axis=(0, 1, 2))) == pytest.approx(0.5, abs=0.07)
    else:
        assert [w.shape[0] for w in convs] == [4, 8, 8]
        assert rep["size"]["macs"] < 0.5 * prune_macs_dense(trained)
    assert 0.0 <= rep["accuracy"]["int8"] <= 1.0


def prune_macs_dense(trained) -> int:
    from edgekws.compress.quantize import calibration_set, quantize_int8
    from edgekws.export.tflite_graph import layer_summary

    tfl = quantize_int8(trained.model, calibration_set(trained.data, 8))
    return sum(row["macs"] for row in layer_summary(tfl))


@pytest.mark.slow
def test_int8_close_to_float_and_prune_leaves_input_model_alone(trained) -> None:
    from edgekws.compress.quantize import calibration_set, evaluate_int8, quantize_int8

    d = trained.data
    before = [w.copy() for w in trained.model.get_weights()]
    prune(trained.model, d, PruneConfig("nm", epochs=1), progress=False)
    assert all(np.array_equal(a, b) for a, b in zip(before, trained.model.get_weights(), strict=True))
    tfl = quantize_int8(trained.model, calibration_set(d, 48))
    acc_q, pred, xq = evaluate_int8(tfl, d.norm(d.x_test), d.y_test)
    assert xq.dtype == np.int8 and len(pred) == len(d.y_test)
    assert abs(acc_q - trained.float_accuracy) <= 0.05  # tiny test set: 1 clip = 2.8 points


def test_config_from_recipe_uses_recipe_defaults() -> None:
    from edgekws.train.recipe import load_recipe

    rec = load_recipe("ds-cnn-s")
    cfg = PruneConfig.from_recipe(rec, "filter", 0.5, epochs=None, importance="bn")
    assert cfg.epochs == rec.prune.epochs and cfg.learning_rate == rec.prune.filter_learning_rate
    assert PruneConfig.from_recipe(rec, "element", 0.8).learning_rate == rec.prune.learning_rate
    assert cfg.distill == rec.prune.distill and cfg.importance == "bn"
