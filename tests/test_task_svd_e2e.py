"""``edgekws task svd data/train/eval/report`` end to end on a tiny generated dataset, and one-line CLI errors.

Tiny on purpose (5 speech clips, 5 singing clips of 3 s, two epochs, 4-channel CNN): it
proves the stages chain through real files (espeak-ng speech, Jamendo layout, one
frontend), that the fine-tuned model starts from the pre-trained weights, that the
metrics count every test frame against the .lab truth and the report carries our figures
beside the anchors; the figures themselves mean nothing at this size.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cli_run import run_cli as _run
from cli_run import run_cli_ok as _ok
from edgekws.errors import ConfigError, DatasetError

TINY_DATA = ["pretrain_clips=3,1,1", "singing_clips=2,1,2", "clip_seconds=3"]
# fine-tuning at 1e-7: the transfer model must stay where pre-training left it (the test below checks it starts there)
TINY_TRAIN = ["pretrain_epochs=2", "finetune_epochs=1", "scratch_epochs=2", "model.channels=4,4", "model.hidden=4",
              "chunk_frames=50", "finetune_learning_rate=1e-7"]


def _sets(items: list[str]) -> list[str]:
    return [a for s in items for a in ("--set", s)]


@pytest.mark.slow  # generates 10 clips with espeak-ng and trains three tiny CNNs (~30 s wall, TensorFlow start-up included)
@pytest.mark.espeak
def test_tiny_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str], espeak: str) -> None:
    del espeak
    data, run = tmp_path / "data", tmp_path / "run"
    _ok(["task", "svd", "data", "--out", str(data), *_sets(TINY_DATA)], capsys)
    for part in ("pretrain", "singing"):
        assert (data / part / "filelists" / "test").is_file() and (data / part / "synth_truth.json").is_file()
    _ok(["task", "svd", "train", "--data", str(data), "--out", str(run), *_sets(TINY_TRAIN)], capsys)
    train = json.loads((run / "train.json").read_text())
    assert train["models"]["transfer"]["started_from"] == "pretrained" and train["models"]["scratch"]["started_from"] is None
    assert train["models"]["transfer"]["norm"] == "pretrain" and train["models"]["scratch"]["norm"] == "target"
    assert train["clips"] == {"pretrain": {"train": 3, "valid": 1}, "target": {"train": 2, "valid": 1}}

    from edgekws.tasks.svd import models
    from edgekws.tasks.svd.config import ModelConfig

    def kernels(name: str) -> list[np.ndarray]:
        m = models.build(40, ModelConfig(channels=(4, 4), hidden=4))
        m.load_weights(str(run / "models" / f"{name}.weights.h5"))
        return [w.numpy() for w in m.trainable_weights]

    pre, tra, scr = kernels("pretrained"), kernels("transfer"), kernels("scratch")
    assert all(np.allclose(a, b, atol=1e-4) for a, b in zip(pre, tra, strict=True))  # fine-tuned from pre-trained
    assert not all(np.allclose(a, b, atol=1e-4) for a, b in zip(pre, scr, strict=True))

    _ok(["task", "svd", "eval", str(run)], capsys)
    m = json.loads((run / "metrics.json").read_text())
    assert m["generated"] is True and m["n_test_clips"] == 2 and m["median_frames"] == 15
    for name in ("pretrained", "transfer", "scratch"):
        for kind in ("raw", "smoothed"):
            s = m["target_test"][name][kind]
            assert sum(s["counts"].values()) == m["n_test_frames"] and s["clips"] == 2
            assert s["ci"]["f"][0] <= s["f"] <= s["ci"]["f"][1]
    assert set(m["comparisons"]) == {"transfer_vs_pretrained", "transfer_vs_scratch", "scratch_vs_pretrained"}
    # the plotted truth is the example clip's .lab at the frame centres
    from edgekws.tasks.svd import jamendo
    from edgekws.tasks.svd.config import task_frontend

    ex = m["example"]
    segs = jamendo.read_lab(data / "singing" / "labels" / f"{ex['clip']}.lab")
    assert ex["truth"] == jamendo.frame_labels(segs, len(ex["truth"]), task_frontend()).astype(int).tolist()
    assert m["real"]["available"] or "fetch_vocadito" in m["real"]["reason"]

    out = _ok(["task", "svd", "report", str(run)], capsys)
    md = (run / "report" / "report.md").read_text()
    assert "report.md" in out and "## Published anchors (their data, not ours)" in md
    assert "89.5 %" in md and "93.2 %" in md
    f_after = m["target_test"]["transfer"]["smoothed"]["f"]
    row = next(line for line in md.splitlines() if line.startswith("| after transfer"))
    assert row.split("|")[2].strip().startswith(f"{100 * f_after:.1f} [")  # our figure, from our metrics
    page = (run / "report" / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 2
    _ok(["task", "svd", "eval", str(run), "--data", str(data)], capsys)  # scoring again gives the same figures
    again = json.loads((run / "metrics.json").read_text())
    assert again["target_test"] == m["target_test"]


def _jamendo(root: Path, lab: str) -> None:
    import soundfile as sf

    rng = np.random.default_rng(0)
    for d in ("audio", "labels", "filelists"):
        (root / d).mkdir(parents=True, exist_ok=True)
    sf.write(str(root / "audio" / "s.wav"), 0.1 * rng.standard_normal(32000), 16000)
    (root / "labels" / "s.lab").write_text(lab)
    for split in ("train", "valid", "test"):
        (root / "filelists" / split).write_text("s.wav\n")


def test_bad_data_is_one_line_and_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _jamendo(tmp_path / "d" / "pretrain", "0 1 sing\n1 2 nosing\n")
    _jamendo(tmp_path / "d" / "singing", "0 1 sing\n0.5 2 nosing\n")
    code, _, err = _run(["task", "svd", "train", "--data", str(tmp_path / "d"), "--out", str(tmp_path / "r")], capsys)
    # a DatasetError (exit 2, the reason), not the CLI's last-resort "internal error" line for anything else
    assert code == DatasetError.exit_code and err.strip().startswith("error: ") and "internal error" not in err
    assert "s.lab:2: segment starts at 0.5" in err and err.strip().count("\n") == 0
    code, _, err = _run(["task", "svd", "train", "--data", str(tmp_path / "d"), "--out", str(tmp_path / "r"),
                         "--set", "median_seconds=-1"], capsys)
    assert code == ConfigError.exit_code and "median_seconds must be >= 0" in err and "internal error" not in err
