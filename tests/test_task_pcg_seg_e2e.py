"""``edgekws task pcg-seg data/train/eval/report`` end to end on a tiny generated dataset, every input type.

Tiny on purpose (12 five-second records, two fractions, two epochs): it proves the stages
chain through real files, each input type (topological, envelope, log-mel) trains the same
TCN and is decoded by the same constrained decoder, the logistic stand-in runs, and the
report holds the F1 table, the curve, the examples and the anchor apart. Only the
logistic stand-in (fitted to convergence) is held to a figure; two TCN epochs mean nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_run import run_cli as _run
from cli_run import run_cli_ok as _ok
from edgekws.errors import DatasetError
from edgekws.tasks.pcg import annotations as ann
from edgekws.tasks.pcg import pcg_frontend
from edgekws.tasks.pcg.physionet import PcgRecord
from edgekws.tasks.pcg_seg import dataset as ds

TINY_DATA = ["normal_records=8", "abnormal_records=4", "seconds=5"]
TINY_TRAIN = ["inputs=topo,envelope,logmel", "fractions=50,100", "epochs=2", "min_steps=0", "model.channels=8",
              "topo.h1_hop=8"]


def _sets(items: list[str]) -> list[str]:
    return [a for s in items for a in ("--set", s)]


@pytest.mark.slow  # 9 TCNs + feature extraction (~40 s wall on a loaded core, TensorFlow start-up included)
def test_tiny_end_to_end_every_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, run = tmp_path / "data", tmp_path / "run"
    _ok(["task", "pcg-seg", "data", "--out", str(data), *_sets(TINY_DATA)], capsys)
    assert (data / "training-a" / "REFERENCE.csv").is_file() and list(data.glob("training-*/*.tsv"))
    _ok(["task", "pcg-seg", "train", "--data", str(data), "--out", str(run), *_sets(TINY_TRAIN)], capsys)
    train = json.loads((run / "train.json").read_text())
    assert len(train["test_subjects"]) == 4 and not set(train["test_subjects"]) & set(train["train_order"])
    for p, n_subj in (("50", 4), ("100", 8)):
        fi = train["fractions"][p]
        assert fi["subjects"] == n_subj and fi["train_records"] + fi["val_records"] == n_subj
        assert set(fi["inputs"]) == {"topo", "envelope", "logmel"} and "logreg" in fi
        assert all(1 <= a <= b for a, b in zip(fi["durations"]["dmin"], fi["durations"]["dmax"], strict=True))
        assert all((run / "models" / f"{i}-{p}.weights.h5").is_file() for i in fi["inputs"])

    _ok(["task", "pcg-seg", "eval", str(run)], capsys)
    m = json.loads((run / "metrics.json").read_text())
    assert m["data_generated"] is True and m["test_records"] == 4
    assert set(m["variants"]) == {f"{i}-{p}" for i in ("topo", "envelope", "logmel", "logreg") for p in (50, 100)}
    for r in m["variants"].values():
        assert r["order_violations_decoded"] == 0
        assert r["f1_ci"][0] <= r["f1"] <= r["f1_ci"][1] and r["accuracy_ci"][0] <= r["accuracy"] <= r["accuracy_ci"][1]
    assert m["variants"]["logreg-100"]["f1"] > 0.8  # a converged linear model + the decoder finds the sounds
    assert len(m["examples"]) == 2 and set(m["examples"][0]["pred"]) == {"topo", "envelope", "logmel", "logreg"}

    out = _ok(["task", "pcg-seg", "report", str(run)], capsys)
    md = (run / "report" / "report.md").read_text()
    assert "report.md" in out and "The data is GENERATED" in md
    assert "## Published anchor (their data, not ours)" in md and "| 95.6 % |" in md
    assert "in-house LR-HSMM stand-in" in md and f"{100 * m['variants']['topo-100']['f1']:.1f}" in md
    for fig in ("curve", "example1", "example2"):
        assert (run / "report" / "figures" / f"{fig}.png").stat().st_size > 1000
    assert "data:image/png;base64," in (run / "report" / "report.html").read_text()


def test_folder_without_annotations_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    _ok(["task", "pcg-seg", "data", "--out", str(data), *_sets(["normal_records=3", "abnormal_records=1",
                                                                "seconds=3"])], capsys)
    for t in data.glob("training-*/*.tsv"):
        t.unlink()
    code, _, err = _run(["task", "pcg-seg", "train", "--data", str(data), "--out", str(tmp_path / "run")], capsys)
    assert code != 0 and "no record has a .tsv" in err and "Traceback" not in err


def test_subject_split_is_nested_and_disjoint() -> None:
    subjects = [ds.SegRecord(PcgRecord(f"{i:05d}_{loc}", Path("x.wav"), -1, "c"), Path("x.tsv")).subject
                for i in range(20) for loc in ("AV", "MV")]
    sp = ds.split_subjects(subjects, 0.3, seed=1)
    assert len(sp.test) == 6 and not set(sp.test) & set(sp.train_order)
    assert sp.train_subjects(25) == sp.train_subjects(50)[:len(sp.train_subjects(25))]
    assert sp.train_subjects(100) == sp.train_order and len(sp.train_subjects(10)) == 2


def test_order_violation_in_annotation_is_refused(tmp_path: Path) -> None:
    tsv = ann.write_tsv(tmp_path / "a0001.tsv", [ann.Segment(0.0, 0.1, 1), ann.Segment(0.1, 0.4, 3)])
    rec = ds.SegRecord(PcgRecord("a0001", tmp_path / "a0001.wav", -1, "training-a"), tsv)
    with pytest.raises(DatasetError, match="followed by S2"):
        ds.load_states(rec, 20, pcg_frontend())
