"""``edgekws task sed-ctc data/train/eval/report`` end to end on a tiny generated dataset.

Tiny on purpose (3 classes, 24 training clips, one epoch): it proves the stages chain
through real files, that the strong labels written for evaluation are the composer's
placements, that every method's events are written and scored by sed_eval, and that
the report carries our figures and the plot of a clip; the figures themselves are
meaningless at this size. Marked slow as every test that trains a model is.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cli_run import run_cli as _run
from cli_run import run_cli_ok as _ok
from edgekws.errors import ConfigError
from edgekws.tasks.configs import apply_overrides
from edgekws.tasks.sed_ctc.config import SedTrainConfig


@pytest.mark.slow  # trains two small models (~30 s of CPU, TensorFlow start-up included)
def test_tiny_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, run = tmp_path / "data", tmp_path / "run"
    _ok(["task", "sed-ctc", "data", "--out", str(data), "--set", "classes=3", "--set", "train_per_class=6",
         "--set", "test_per_class=3", "--set", "max_event_s=0.4"], capsys)
    assert json.loads((data / "edgekws_task_data.json").read_text())["task"] == "sed-ctc"
    _ok(["task", "sed-ctc", "train", "--data", str(data), "--out", str(run), "--set", "epochs=1",
         "--set", "variants=crnn-ctc,crnn-gmp", "--set", "compose.n_train=24", "--set", "compose.n_val=6",
         "--set", "compose.n_test=12", "--set", "compose.clip_seconds=2", "--set", "compose.max_events=3",
         "--set", "compose.max_event_s=0.4", "--set", "model.channels=8,8,8"], capsys)
    comp = json.loads((run / "composition.json").read_text())
    truth = (run / "test_events.tsv").read_text().splitlines()
    first = comp["splits"]["test"][0][0]
    assert truth[0] == "filename\tonset\toffset\tevent_label"
    assert truth[1] == (f"test_00000.wav\t{first['onset'] / 16000:.3f}\t{first['offset'] / 16000:.3f}\t"
                        f"{comp['classes'][first['label']]}")
    assert len(truth) - 1 == sum(len(c) for c in comp["splits"]["test"])
    _ok(["task", "sed-ctc", "eval", str(run)], capsys)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["generated"] is True and metrics["n_test"] == 12
    assert set(metrics["methods"]) == {"crnn-ctc+clusters", "crnn-ctc+spikes", "crnn-gmp+threshold",
                                      "oracle-spikes+clusters"}
    for name, v in metrics["methods"].items():
        assert set(v["segments"]) == {"1", "0.2"}
        tsv = (run / "events" / f"{name}.tsv").read_text().splitlines()
        assert len(tsv) - 1 == v["events"]
        for seg in v["segments"].values():
            assert seg["clips"] == 12 and seg["counts"]["n_ref"] > 0
            lo, hi = seg["f1_ci"]
            assert lo <= seg["f1"] <= hi
    out = _ok(["task", "sed-ctc", "report", str(run)], capsys)
    md = (run / "report" / "report.md").read_text()
    page = (run / "report" / "report.html").read_text()
    assert "report.md" in out and "Published reference (their data, not ours)" in md
    f1 = metrics["methods"]["crnn-ctc+clusters"]["segments"]["1"]["f1"]
    assert "| crnn-ctc+clusters | CTC spikes + clustering |" in md and f"{f1:.3f} [" in md
    assert page.count("data:image/png;base64,") == 2 and (run / "report" / "figures" / "example.png").is_file()
    # eval again from the data folder reproduces the same figures (the run holds the exact composition)
    _ok(["task", "sed-ctc", "eval", str(run), "--data", str(data)], capsys)
    again = json.loads((run / "metrics.json").read_text())
    assert np.isclose(again["methods"]["crnn-ctc+clusters"]["segments"]["1"]["f1"], f1)


def test_config_needs_a_ctc_and_a_pooled_head(capsys: pytest.CaptureFixture[str]) -> None:
    cfg = apply_overrides(SedTrainConfig(), ["detect.segments_s=1,0.1", "detect.threshold=0.3"])
    assert cfg.detect.segments_s == (1.0, 0.1) and cfg.variants == ("glu-ctc", "glu-gmp", "glu-gap")
    with pytest.raises(ConfigError, match="at least one of each"):
        apply_overrides(SedTrainConfig(), ["variants=glu-ctc,crnn-ctc"])
    with pytest.raises(ConfigError, match="median_frames must be odd"):
        apply_overrides(SedTrainConfig(), ["detect.median_frames=2"])
    code, _, err = _run(["task", "sed-ctc", "train", "--data", "/nonexistent", "--out", "/tmp/x",
                         "--set", "variants=glu-gmp"], capsys)
    assert code != 0 and "at least one of each" in err and "Traceback" not in err
