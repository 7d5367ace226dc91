"""``edgekws task geo-tagging data/train/eval/report`` end to end on a tiny generated dataset.

Tiny on purpose (40 training clips of 1 s, two epochs, a two-block CNN): it proves the
stages chain through real files, that all five methods train and are scored, that the
run directory reproduces its figures and that the report carries our figures apart
from the published anchors; the figures themselves mean little at this size.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cli_run import run_cli_ok as _ok
from edgekws.tasks.geo_tagging.config import METHODS


@pytest.mark.slow  # trains four tiny models (~20 s of CPU, TensorFlow start-up included)
def test_tiny_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, run = tmp_path / "data", tmp_path / "run"
    _ok(["task", "geo-tagging", "data", "--out", str(data), "--set", "n_train=40", "--set", "n_test=24",
         "--set", "clip_seconds=1", "--set", "max_event_s=0.4"], capsys)
    assert (data / "metadata.csv").is_file() and (data / "edgekws_task_data.json").is_file()
    _ok(["task", "geo-tagging", "train", "--data", str(data), "--out", str(run), "--set", "epochs=2",
         "--set", "clip_seconds=1", "--set", "n_boot=50", "--set", "model.channels=4,8",
         "--set", "model.time_pool=2,2", "--set", "model.freq_pool=2,2", "--set", "model.embedding=16"], capsys)
    info = json.loads((run / "task.json").read_text())
    assert info["task"] == "geo-tagging" and info["config"]["epochs"] == 2
    splits = json.loads((run / "splits.json").read_text())["splits"]
    assert len(splits["train"]) == 32 and len(splits["val"]) == 8 and len(splits["test"]) == 24
    assert len(json.loads((run / "models" / "decision-fusion.json").read_text())["weights"]) == 14
    _ok(["task", "geo-tagging", "eval", str(run)], capsys)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["generated"] is True and metrics["n_test"] == 24 and list(metrics["methods"]) == list(METHODS)
    assert len(metrics["confusable_pairs"]) == 4
    for name, v in metrics["methods"].items():
        lo, hi = v["map_ci"]
        assert 0.0 <= lo <= hi <= 1.0 and 0.0 < v["map"] <= 1.0
        assert ("vs_audio_only" in v) == (name != "audio-only")
    out = _ok(["task", "geo-tagging", "report", str(run)], capsys)
    md = (run / "report" / "report.md").read_text()
    page = (run / "report" / "report.html").read_text()
    assert "report.md" in out
    assert "Published anchors (their data, not ours)" in md and "| audio-only, lowest model | mAP | 0.77 |" in md
    assert "generated geo-tagged clips" in md and "no geo-tagged real audio exists in any registry" in md
    fused = metrics["methods"]["decision-fusion"]
    assert f"| decision-fusion | outputs: fitted weighted sum of the two baselines' logits | 42 | {fused['map']:.3f} [" in md
    assert "The published order (context-aware models above audio-only)" in md
    assert "| car_horn | road |" in md and "| boat_horn | water |" in md
    assert page.count("data:image/png;base64,") == 2 and (run / "report" / "figures" / "pairs.png").is_file()
    # eval again on the same data reproduces the figures (stored splits, normalisation, weights)
    _ok(["task", "geo-tagging", "eval", str(run), "--data", str(data)], capsys)
    again = json.loads((run / "metrics.json").read_text())
    assert np.isclose(again["methods"]["decision-fusion"]["map"], fused["map"])


def test_report_says_when_the_published_order_does_not_hold() -> None:
    from edgekws.tasks.geo_tagging.report import order_findings

    def method(d: float, lo: float, hi: float) -> dict:
        return {"vs_audio_only": [d, lo, hi]}

    methods = {"audio-only": {}, "feature-fusion": method(0.05, 0.01, 0.09),
               "representation-fusion": method(0.01, -0.02, 0.04), "decision-fusion": method(-0.04, -0.07, -0.01)}
    text = " ".join(order_findings(methods, "this data"))
    assert "Above audio-only" in text and "feature-fusion +0.050" in text
    assert "Not separated from audio-only (interval contains 0): representation-fusion" in text
    assert "Below audio-only (interval below 0): decision-fusion" in text
    assert "reproduces for feature-fusion here" in text
    below = {"audio-only": {}, "feature-fusion": method(-0.04, -0.07, -0.01)}
    assert "does NOT reproduce" in " ".join(order_findings(below, "this data"))
    above = {"audio-only": {}, "feature-fusion": method(0.04, 0.01, 0.07)}
    assert "(context-aware models above audio-only) reproduces here" in " ".join(order_findings(above, "x"))
