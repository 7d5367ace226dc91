"""``edgekws task tagging-ctc data/train/eval/report`` end to end on a tiny generated dataset.

Tiny on purpose (3 classes, 24 training clips, one epoch, two variants): it proves the
stages chain through real files, that the run directory is self-describing and the
report carries our figures apart from the published anchors; the figures themselves
are meaningless at this size. About 30 s of CPU time (TensorFlow start-up included); marked slow as every
test that trains a model is.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cli_run import run_cli_ok as _ok
from edgekws.tasks.tagging_ctc.synth import CATALOGUE


@pytest.mark.slow  # trains two small models (~30 s of CPU, TensorFlow start-up included)
def test_tiny_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, run = tmp_path / "data", tmp_path / "run"
    _ok(["task", "tagging-ctc", "data", "--out", str(data), "--set", "classes=3", "--set", "train_per_class=6",
         "--set", "test_per_class=3", "--set", "max_event_s=0.4"], capsys)
    assert (data / "train.csv").is_file() and (data / "edgekws_task_data.json").is_file()
    _ok(["task", "tagging-ctc", "train", "--data", str(data), "--out", str(run), "--set", "epochs=1",
         "--set", "variants=crnn-ctc,crnn-gmp", "--set", "compose.n_train=24", "--set", "compose.n_val=6",
         "--set", "compose.n_test=16", "--set", "compose.clip_seconds=2", "--set", "compose.max_events=3",
         "--set", "compose.max_event_s=0.4", "--set", "model.channels=8,8,8"], capsys)
    info = json.loads((run / "task.json").read_text())
    assert info["task"] == "tagging-ctc" and info["config"]["compose"]["n_train"] == 24
    comp = json.loads((run / "composition.json").read_text())
    assert comp["classes"] == sorted(c.label for c in CATALOGUE[:3])
    assert comp["test_from"] == "test_csv" and len(comp["splits"]["test"]) == 16
    _ok(["task", "tagging-ctc", "eval", str(run)], capsys)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["generated"] is True and metrics["n_test"] == 16
    assert set(metrics["variants"]) == {"crnn-ctc", "crnn-gmp"}
    for v in metrics["variants"].values():
        lo, hi = v["auc_ci"]
        assert 0.0 <= lo <= v["macro_auc"] <= hi <= 1.0
    assert "order" in metrics["variants"]["crnn-ctc"] and "order" not in metrics["variants"]["crnn-gmp"]
    assert metrics["variants"]["crnn-ctc"]["order"]["n"] == 16
    out = _ok(["task", "tagging-ctc", "report", str(run)], capsys)
    md = (run / "report" / "report.md").read_text()
    page = (run / "report" / "report.html").read_text()
    assert "report.md" in out
    assert "Published anchors (their data, not ours)" in md and "| crnn-ctc | macro AUC | 0.986 |" in md
    auc = metrics["variants"]["crnn-ctc"]["macro_auc"]
    assert "| crnn-ctc | ctc | ReLU |" in md and f"{auc:.3f} [" in md  # our figure, from our metrics
    assert "published order crnn-ctc > crnn-gmp" in md
    assert page.count("data:image/png;base64,") == 2 and (run / "report" / "figures" / "auc.png").is_file()
    # eval again on the same data reproduces the same clips and figures (exact composition in the run dir)
    _ok(["task", "tagging-ctc", "eval", str(run), "--data", str(data)], capsys)
    again = json.loads((run / "metrics.json").read_text())
    assert np.isclose(again["variants"]["crnn-ctc"]["macro_auc"], auc)


def test_ctc_loss_prefers_the_true_sequence() -> None:
    import tensorflow as tf

    from edgekws.tasks.tagging_ctc.models import ctc_loss, ctc_targets, tag_scores

    # 6 frames, 2 classes + blank (index 2): a path reading "0 blank 1" scores the sequence [0, 1]
    path = [0, 0, 2, 1, 1, 2]
    post = (np.eye(3)[path] * 0.94 + 0.02)[None].astype(np.float32)
    right = float(tf.reduce_mean(ctc_loss(tf.constant(ctc_targets([[0, 1]], 3)), tf.constant(post))))
    wrong = float(tf.reduce_mean(ctc_loss(tf.constant(ctc_targets([[1, 0]], 3)), tf.constant(post))))
    assert right < 1.0 < wrong
    # a class's tag score is its highest frame posterior; the blank (last column) is no class
    post = np.array([[[0.7, 0.1, 0.2], [0.05, 0.05, 0.9], [0.2, 0.5, 0.3]]])
    np.testing.assert_allclose(tag_scores(post, "ctc"), [[0.7, 0.5]])
