"""The CLI stages chained on a tiny espeak-ng dataset: train -> prune -> quantize -> report (real files)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

TINY_YAML = """name: tiny-cli
frontend: kws-mfcc-49x10
model:
  arch: ds_cnn
  convs: [{filters: 8, kernel: [10, 4], strides: [2, 2]}]
  blocks: [8]
train: {epochs: 2, batch_size: 32, patience: 2}
prune: {epochs: 1}
quant: {calibration_samples: 16}
"""


def _run(*args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("edgekws")
    proc = subprocess.run([str(exe), *args], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


@pytest.mark.slow
@pytest.mark.espeak
def test_cli_chain(tmp_path: Path, espeak: str) -> None:
    data = tmp_path / "data"
    _run("data", "synth", "--out", str(data), "--per-word", "4", "--seed", "1", "--noise-seconds", "3")
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(TINY_YAML)
    _run("train", str(recipe), "--data", str(data), "--out", str(tmp_path / "base"), "--no-onnx")
    meta = json.loads((tmp_path / "base" / "bundle.json").read_text())
    assert meta["frontend"]["name"] == "kws-mfcc-49x10" and meta["recipe"]["name"] == "tiny-cli"
    testset = tmp_path / "base" / "testset.npz"
    import numpy as np

    with np.load(testset) as z:
        assert z["audio_int16"].shape[1] == 16000 and z["audio_int16"].dtype == np.int16
    out = _run("prune", str(tmp_path / "base"), "-g", "filter", "-s", "0.5", "--out", str(tmp_path / "f50"),
               "--no-onnx").stdout
    assert "drop" in out
    _run("quantize", str(tmp_path / "f50"), "--out", str(tmp_path / "f50q"), "--no-onnx")
    rep = json.loads((tmp_path / "f50q" / "report.json").read_text())
    assert rep["granularity"] == "filter"  # re-quantizing keeps the pruning record
    _run("report", str(tmp_path / "base"), str(tmp_path / "f50"), "--out", str(tmp_path / "rep"))
    assert "tiny-cli-filter-50" in (tmp_path / "rep" / "report.md").read_text()
