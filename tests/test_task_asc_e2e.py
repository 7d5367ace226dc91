"""``edgekws task asc data/train/eval/report`` end to end on a tiny generated dataset, all four methods.

Tiny on purpose (88 training clips, two subsets, two epochs, 8-channel CNNs): it proves the
stages chain through real files, every method (baseline, City2Scene, entropy curriculum,
DDSC) trains and is scored per device, the report shows the subset curve and the
seen/unseen split with the anchors apart; the figures themselves mean nothing at this
size. About 1.5 min wall on one loaded core; marked slow as every test that trains is.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cli_run import run_cli_ok as _ok

TINY_DATA = ["sample_rate=16000", "cities=3", "train_locations=2", "train_segments_per_scene=6",
             "test_segments_per_scene=1", "clips_per_segment=1"]
TINY_TRAIN = ["subsets=25,100", "epochs=2", "model.channels=8,8,8", "city2scene.teacher_channels=8,8,8",
              "city2scene.city_epochs=1", "city2scene.finetune_epochs=1", "curriculum.device_channels=4,4,4",
              "curriculum.device_epochs=1"]


def _sets(items: list[str]) -> list[str]:
    return [a for s in items for a in ("--set", s)]


@pytest.mark.slow  # trains 8 scene CNNs + teachers + device classifiers (~1.5 min wall, TensorFlow start-up included)
def test_tiny_end_to_end_all_methods(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, run = tmp_path / "data", tmp_path / "run"
    _ok(["task", "asc", "data", "--out", str(data), *_sets(TINY_DATA)], capsys)
    assert (data / "meta.csv").is_file() and (data / "split_setup" / "split5.csv").is_file()
    out = _ok(["task", "asc", "train", "--data", str(data), "--out", str(run), *_sets(TINY_TRAIN)], capsys)
    assert "baseline-25" in out and "ddsc-100" in out
    info = json.loads((run / "task.json").read_text())
    assert info["task"] == "asc" and info["config"]["subsets"] == [25, 100]
    train = json.loads((run / "train.json").read_text())
    sub = train["subsets"]["100"]
    assert set(sub["methods"]) == {"baseline", "city2scene", "entropy", "ddsc"}
    assert sub["clips"] == 88 and set(sub["devices"]) <= {"a", "b", "c", "s1", "s2", "s3"}
    # the entropy curriculum started on a share of the clips and ended on all; DDSC reweighted clips
    frac = sub["methods"]["entropy"]["history"]["fraction"]
    assert frac[0] < 1.0 and frac[-1] == 1.0
    assert sub["methods"]["ddsc"]["history"]["weight_max"][-1] > 1.0
    assert len(sub["device_classifier"]["entropy"]) == 88 and "teacher" in sub
    assert train["complexity"]["within_limits_int8"] is True

    _ok(["task", "asc", "eval", str(run)], capsys)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["generated"] is True and metrics["n_test"] == 90
    assert metrics["unseen_devices"] == ["s4", "s5", "s6"] and "a" in metrics["seen_devices"]
    for p in ("25", "100"):
        res = metrics["subsets"][p]
        assert set(res) == {"baseline", "city2scene", "entropy", "ddsc", "city2scene-teacher"}
        for r in res.values():
            assert r["seen"]["n"] == 60 and r["unseen"]["n"] == 30
            assert all(d["n"] == 10 for d in r["per_device"].values())
            lo, hi = r["classwise_ci"]
            assert lo <= r["classwise_accuracy"] <= hi
            assert r["seen"]["correct"] + r["unseen"]["correct"] == r["accuracy"]["correct"]
        assert "vs_baseline_mcnemar_p" in res["ddsc"] and "vs_baseline_mcnemar_p" not in res["baseline"]

    out = _ok(["task", "asc", "report", str(run)], capsys)
    md = (run / "report" / "report.md").read_text()
    page = (run / "report" / "report.html").read_text()
    assert "report.md" in out
    assert "Published anchors (their data, not ours)" in md and "| DCASE 2024 baseline | class-wise accuracy, split5 | 0.424 |" in md
    assert "## Seen vs unseen devices" in md and "S4 (unseen)" in md
    cw = metrics["subsets"]["100"]["ddsc"]["classwise_accuracy"]
    row = next(line for line in md.splitlines() if line.startswith("| ddsc | ") and "split" not in line)
    assert f"{100 * cw:.1f} [" in row  # our figure, from our metrics, in the subset table's ddsc row
    assert page.count("data:image/png;base64,") == 2 and (run / "report" / "figures" / "subsets.png").is_file()
    # scoring again reproduces the same predictions (models and norms are in the run directory)
    _ok(["task", "asc", "eval", str(run), "--data", str(data)], capsys)
    again = json.loads((run / "metrics.json").read_text())
    assert np.array_equal(again["subsets"]["100"]["city2scene"]["correct"],
                          metrics["subsets"]["100"]["city2scene"]["correct"])
