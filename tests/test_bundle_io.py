"""Bundles round-trip, are hashed, and every corruption gives one BundleError line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import edgekws  # noqa: F401
from edgekws.errors import BundleError
from edgekws.export.bundle import SCHEMA_VERSION, compute_bundle_hash, load_bundle

TINY = {"name": "tiny", "model": {"arch": "ds_cnn", "convs": [{"filters": 8, "kernel": [10, 4], "strides": [2, 2]}],
                                  "blocks": [8]}}


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory) -> Path:
    """One small bundle made by the real pipeline (untrained model, synthetic features)."""
    from edgekws.compress.finalize import finalize_bundle
    from edgekws.train.data import synthetic_feature_data
    from edgekws.train.models import build_model
    from edgekws.train.recipe import recipe_from_dict

    data = synthetic_feature_data(3, frames=20, feats=8)
    recipe = recipe_from_dict(TINY)
    model = build_model(recipe.model, data.input_shape, len(data.labels))
    out = tmp_path_factory.mktemp("bundle") / "tiny"
    finalize_bundle(model, data, out, name="tiny", recipe=recipe.to_dict(), calibration_samples=12,
                    testset_max=12, progress=False)
    return out


def _copy(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "b"
    shutil.copytree(src, dst)
    return dst


def _one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert "\n" not in msg and msg
    return msg


@pytest.mark.slow
def test_bundle_contents(bundle_dir: Path) -> None:
    b = load_bundle(bundle_dir)
    meta = b.meta
    assert meta["schema_version"] == SCHEMA_VERSION
    assert meta["labels"][:2] == ["_silence_", "_unknown_"]
    assert meta["input"]["dtype"] == "int8" and meta["input"]["shape"] == [1, 20, 8, 1]
    assert meta["output"]["shape"] == [1, 12]
    assert len(meta["input_norm"]["mean"]) == 8
    ops = [row["op"] for row in meta["layers"]]
    assert ops[0] == "CONV_2D" and ops[-1] == "SOFTMAX"
    assert all(row["backend"] == "ref" for row in meta["layers"])
    assert {"index", "name", "input_shape", "output_shape", "params", "macs", "sparsity", "nonzeros"} <= set(meta["layers"][0])
    assert meta["bundle_hash"] == compute_bundle_hash(b.tflite_bytes(), meta)
    for f in ("model.tflite", "model_float.tflite", "model.onnx", "report.json", "testset.npz", "model_keras.h5"):
        assert (bundle_dir / f).is_file(), f
    ts = b.testset()
    assert ts["x_int8"].dtype == np.int8 and ts["x_int8"].shape[1:] == (20, 8, 1)
    assert len(ts["y"]) == len(ts["x_int8"])
    rep = b.report
    assert 0.0 <= rep["accuracy"]["int8"] <= 1.0
    assert np.asarray(rep["confusion"]["int8"]).sum() == rep["accuracy"]["n_test"]
    assert rep["onnx_max_abs_diff"] < 1e-4


@pytest.mark.slow
def test_testset_int8_matches_tflm_accuracy(bundle_dir: Path) -> None:
    """testset.npz x_int8 is exactly what the device feeds; TFLM on it reproduces the predictions."""
    from edgekws.tflm import TflmModel

    b = load_bundle(bundle_dir)
    ts = b.testset()
    out = TflmModel(b.tflite_path).run_batch(list(ts["x_int8"]))
    assert out.shape == (len(ts["y"]), 12) and out.dtype == np.int8


def _edit_json(d: Path, fn) -> None:
    p = d / "bundle.json"
    meta = json.loads(p.read_text())
    fn(meta)
    p.write_text(json.dumps(meta))


@pytest.mark.slow
@pytest.mark.parametrize("corrupt, needle", [
    (lambda d: _edit_json(d, lambda m: m.update(schema_version=2)), "schema_version 2"),
    (lambda d: _edit_json(d, lambda m: m.pop("schema_version")), "no schema_version"),
    (lambda d: _edit_json(d, lambda m: m.pop("labels")), "lacks key(s): labels"),
    (lambda d: (d / "model.tflite").unlink(), "missing model.tflite"),
    (lambda d: (d / "report.json").unlink(), "missing report.json"),
    (lambda d: shutil.copy(d / "model_float.tflite", d / "model.tflite"), "not an int8 model"),
    (lambda d: (d / "model.tflite").write_bytes(b"garbage!" * 10), "not a readable TFLite model"),
    (lambda d: _edit_json(d, lambda m: m.update(labels=m["labels"][:10])), "12 outputs but bundle.json lists 10"),
    (lambda d: (d / "bundle.json").write_text("{not json"), "not valid JSON"),
    (lambda d: (d / "bundle.json").write_text("[1, 2]"), "JSON object"),
    (lambda d: _edit_json(d, lambda m: m.update(name="renamed")), "bundle_hash does not match"),
])
def test_corrupt_bundles_give_one_line_errors(bundle_dir: Path, tmp_path: Path, corrupt, needle: str) -> None:
    d = _copy(bundle_dir, tmp_path)
    corrupt(d)
    with pytest.raises(BundleError) as exc:
        load_bundle(d)
    assert needle in _one_line(exc)


def test_missing_directory() -> None:
    with pytest.raises(BundleError, match="not a directory"):
        load_bundle("/nonexistent/bundle")


@pytest.mark.slow
def test_cli_reports_bad_bundle_in_one_line(bundle_dir: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    d = _copy(bundle_dir, tmp_path)
    _edit_json(d, lambda m: m.update(schema_version="x"))
    edgekws_bin = Path(sys.executable).with_name("edgekws")
    proc = subprocess.run([str(edgekws_bin), "prune", str(d), "-g", "element", "--out", str(tmp_path / "p")],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: ") and "schema_version" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
