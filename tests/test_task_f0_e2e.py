"""``edgekws task f0 data/train/eval/report`` end to end on a tiny generated dataset.

Tiny on purpose (six 1 s stems, three mixtures, two epochs of a two-layer 4-channel CNN): it
proves the stages chain through real files and every method (CNN, pYIN, combined;
multi-F0 on mixtures) is scored and reported; the CNN's figures mean nothing at
this size, pYIN's do (it is not trained), so they are checked. Marked slow as every
test that trains is (TensorFlow start-up and pYIN's numba compile dominate).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_run import run_cli as _run

TINY_DATA = ["tracks=6", "mixtures=3", "seconds=1.0", "snr_db=30,40"]
TINY_TRAIN = ["epochs=2", "model.channels=4,4", "model.kernel_frames=3,1", "model.kernel_bins=5,13", "patch_frames=32", "patches_per_track=2", "test_fraction=0.34",
              "real=false"]


def _sets(items: list[str]) -> list[str]:
    return [a for s in items for a in ("--set", s)]


@pytest.mark.slow  # trains a CNN and runs pYIN (~1 min wall on a loaded machine)
def test_tiny_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, run = tmp_path / "data", tmp_path / "run"
    rc, _, err = _run(["task", "f0", "data", "--out", str(data), *_sets(TINY_DATA)], capsys)
    assert rc == 0, err[-2000:]
    assert len(list((data / "audio_stems").glob("*.RESYN.wav"))) == 6
    assert len(list((data / "mixtures").glob("*.csv"))) == 3
    rc, _, err = _run(["task", "f0", "train", "--data", str(data), "--out", str(run), *_sets(TINY_TRAIN)], capsys)
    assert rc == 0, err[-2000:]
    train = json.loads((run / "train.json").read_text())
    assert len(train["split"]["test"]) == 3 and (run / "models" / "salience.weights.h5").is_file()
    rc, _, err = _run(["task", "f0", "eval", str(run)], capsys)
    assert rc == 0, err[-2000:]
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["n_stems"] == 2 and metrics["n_mixtures"] == 1 and metrics["generated"] is True
    stems = metrics["stems"]
    assert set(stems) == {"cnn", "pyin", "combined"}
    assert stems["pyin"]["rpa"]["mean"] > 0.8, stems["pyin"]["rpa"]  # clean generated tones: pYIN must track them
    for meth in ("cnn", "combined"):
        for key in ("rpa", "rca", "oa", "flatness"):
            assert 0.0 <= stems[meth][key]["mean"] <= 1.0
    assert set(metrics["mixtures"]["multi"]) == {"cnn", "combined", "pyin"}
    assert len(metrics["mixtures"]["per_voice"]["combined"]) == 2
    assert metrics["combined_counts"]["frames"] == 2 * 101
    rc, _, err = _run(["task", "f0", "report", str(run)], capsys)
    assert rc == 0, err[-2000:]
    md = (run / "report" / "report.md").read_text()
    for needle in ("| salience CNN |", "| pYIN |", "| CNN + pYIN (combined) |", "multi-F0", "per voice",
                   "figures/contour_stem.png", "figures/contour_mixture.png", "need PyTorch"):
        assert needle in md, needle
    assert md.count("data:image/png") == 0 and (run / "report" / "report.html").read_text().count("data:image/png") == 3


def test_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = _run(["task", "f0", "train", "--data", str(tmp_path), "--out", str(tmp_path / "r")], capsys)
    assert rc != 0 and "neither MDB-stem-synth" in err and "Traceback" not in err
    rc, _, err = _run(["task", "f0", "data", "--out", str(tmp_path / "d"), "--set", "seconds=0.1"], capsys)
    assert rc != 0 and "seconds must lie in" in err and "Traceback" not in err
