"""pcg-anomaly: the AUC and score maths on cases worked by hand, the record split, the windows, the report's
anchor-order findings, and ``edgekws task pcg-anomaly data/train/eval/report`` end to end on a tiny generated set."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cli_run import run_cli_ok as _ok
from edgekws.errors import ConfigError, DatasetError
from edgekws.tasks.norm import Norm
from edgekws.tasks.pcg.physionet import PcgRecord
from edgekws.tasks.pcg_anomaly import metrics
from edgekws.tasks.pcg_anomaly.config import TrainConfig
from edgekws.tasks.pcg_anomaly.features import split_records, standardise, windows
from edgekws.tasks.pcg_anomaly.quant import int8_scores
from edgekws.tasks.pcg_anomaly.report import order_findings


def test_auc_on_hand_worked_cases() -> None:
    y = np.array([0, 0, 0, 1, 1])
    assert metrics.auc(y, np.array([0.1, 0.2, 0.3, 0.8, 0.9])) == 1.0  # perfectly separating
    assert metrics.auc(y, np.array([0.9, 0.8, 0.7, 0.2, 0.1])) == 0.0  # perfectly inverted
    assert metrics.auc(y, np.ones(5)) == 0.5  # all tied: one half per pair
    # pairs (abnormal > normal): 0.35 beats 0.1 only, 0.8 beats both -> 3 of 4; a tie counts one half
    assert metrics.auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])) == 0.75
    assert metrics.auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.4, 0.8])) == 0.875
    fpr, tpr = metrics.roc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    assert fpr[0] == 0.0 and tpr[0] == 0.0 and fpr[-1] == 1.0 and tpr[-1] == 1.0
    assert np.isclose(np.trapezoid(tpr, fpr), 0.75)


def test_bootstrap_interval() -> None:
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(40, int), np.ones(20, int)]
    s = np.r_[rng.normal(0, 1, 40), rng.normal(1, 1, 20)]
    a = metrics.auc(y, s)
    lo, hi = metrics.bootstrap_auc_ci(y, s, 400, 0)
    assert 0.0 <= lo < a < hi <= 1.0 and hi - lo < 0.4
    assert metrics.bootstrap_auc_ci(y, s, 400, 0) == (lo, hi)  # seeded
    assert metrics.bootstrap_auc_ci(y, np.r_[np.zeros(40), np.ones(20)], 200, 0) == (1.0, 1.0)
    assert metrics.bootstrap_auc_ci(y, s, 0, 0) == (a, a)
    assert metrics.bootstrap_auc_ci(y, np.ones(60), 50, 0) == (0.5, 0.5)  # ties count one half in every draw


def test_latent_scores() -> None:
    mu = np.array([[0.0, 0.0], [1.0, 2.0]])
    lv = np.zeros((2, 2))
    assert np.allclose(metrics.kl_to_prior(mu, lv), [0.0, 2.5])  # 0.5 * (1 + 4)
    assert np.allclose(metrics.kl_to_prior(np.zeros((1, 1)), np.log(np.array([[4.0]]))), 0.5 * (4 - 1 - np.log(4)))
    cov = np.diag([1.0, 4.0])
    assert np.allclose(metrics.mahalanobis(mu, np.zeros(2), cov), [0.0, 1.0 + 1.0])  # 1/1 + 4/4
    m, c = metrics.gaussian_fit(np.array([[1.0, 0.0], [3.0, 0.0]]))
    assert np.allclose(m, [2.0, 0.0]) and np.allclose(c, [[2.0 + metrics.RIDGE, 0], [0, metrics.RIDGE]])
    s = metrics.window_scores(np.ones((2, 3)), mu, lv, np.zeros((2, 3)), np.zeros(2), cov)
    assert np.allclose(s["reconstruction"], 1.0) and set(s) == {"reconstruction", "kl", "mahalanobis"}


def _recs(normal: int, abnormal: int) -> list[PcgRecord]:
    return ([PcgRecord(f"a{i:04d}", Path(f"a{i:04d}.wav"), -1, "training-a") for i in range(normal)]
            + [PcgRecord(f"b{i:04d}", Path(f"b{i:04d}.wav"), 1, "training-b") for i in range(abnormal)])


def test_split_keeps_abnormal_records_out_of_training() -> None:
    s = split_records(_recs(20, 5), 0.3, 0.15, seed=1)
    assert all(not r.abnormal for r in s["train"] + s["val"])
    assert sum(r.abnormal for r in s["test"]) == 5 and len(s["test"]) == 6 + 5 and len(s["val"]) == 3
    ids = [r.record_id for k in s for r in s[k]]
    assert len(ids) == len(set(ids)) == 25
    assert split_records(_recs(20, 5), 0.3, 0.15, seed=1) == s
    assert split_records(_recs(20, 5), 0.3, 0.15, seed=2)["val"] != s["val"]
    with pytest.raises(DatasetError, match="found 2 normal and 5 abnormal"):
        split_records(_recs(2, 5), 0.3, 0.15, seed=1)
    with pytest.raises(DatasetError, match="found 20 normal and 0 abnormal"):
        split_records(_recs(20, 0), 0.3, 0.15, seed=1)


def test_windows_and_norm() -> None:
    f = np.arange(10 * 2, dtype=np.float32).reshape(10, 2)
    w = windows(f, 4, 3)
    assert w.shape == (3, 4, 2) and np.array_equal(w[1], f[3:7]) and np.array_equal(w[2], f[6:10])
    with pytest.raises(DatasetError, match="x0001: 3 frames, shorter than one 4-frame window"):
        windows(f[:3], 4, 2, "x0001")
    n = Norm.fit(w)
    x = standardise(n, w)
    assert x.shape == (3, 8) and np.allclose(x.reshape(-1, 4, 2).reshape(-1, 2).mean(0), 0, atol=1e-5)
    assert Norm.from_dict(n.to_dict()).mean.tolist() == n.mean.tolist()


def test_config_errors() -> None:
    for kw, match in (({"betas": ()}, "non-empty"), ({"betas": (0.1, -1.0)}, "positive"),
                      ({"betas": (1.0, 1.0)}, "must not repeat"), ({"window_hop": 100}, "window_hop"),
                      ({"test_fraction": 0.6, "val_fraction": 0.5}, "sum to less than 1")):
        with pytest.raises(ConfigError, match=match):
            TrainConfig(**kw)


def _metrics(table: dict[float, dict[str, float]]) -> dict:
    betas = {f"beta-{b:g}": {"beta": b, "scores": {s: {"auc": a, "ci": [a - 0.05, min(1.0, a + 0.05)],
                                                       "per_kind_auc": {}} for s, a in sc.items()}}
             for b, sc in table.items()}
    best = max(((r["beta"], s, v["auc"]) for r in betas.values() for s, v in r["scores"].items()), key=lambda t: t[2])
    return {"betas": betas, "best": {"beta": best[0], "score": best[1], "auc": best[2]}}


def test_order_findings_say_whether_the_anchor_order_holds() -> None:
    paper_like = _metrics({0.1: {"reconstruction": 0.7, "kl": 0.6, "mahalanobis": 0.6},
                           0.5: {"reconstruction": 0.9, "kl": 0.7, "mahalanobis": 0.8},
                           4.0: {"reconstruction": 0.8, "kl": 0.6, "mahalanobis": 0.7}})
    text = " ".join(order_findings(paper_like))
    assert "'best beta < 1' (reconstruction score): reproduced here" in text
    assert "'the reconstruction score beats the latent scores': reproduced here" in text
    opposite = _metrics({0.5: {"reconstruction": 0.6, "kl": 0.9, "mahalanobis": 0.6},
                         2.0: {"reconstruction": 0.8, "kl": 0.7, "mahalanobis": 0.7}})
    text = " ".join(order_findings(opposite))
    assert "'best beta < 1' (reconstruction score): NOT reproduced here: the best reconstruction AUC (0.800) is at " \
           "beta = 2" in text
    assert "latent scores': NOT reproduced here (best reconstruction AUC minus best kl AUC: -0.100)" in text
    tie = _metrics({0.5: {"reconstruction": 0.9, "kl": 0.9, "mahalanobis": 0.6},
                    2.0: {"reconstruction": 0.9, "kl": 0.7, "mahalanobis": 0.7}})
    text = " ".join(order_findings(tie))
    assert "undecided here: betas 0.5, 2 tie" in text and "undecided (a tie)" in text
    assert ("Best of all: reconstruction score at beta = 0.5 and kl score at beta = 0.5 and reconstruction score at "
            "beta = 2, AUC 0.900 (a tie).") in text
    only_high = _metrics({1.0: {"reconstruction": 0.9, "kl": 0.5, "mahalanobis": 0.5}})
    assert "No beta below 1 was trained" in " ".join(order_findings(only_high))


TINY_DATA = ["normal_records=12", "abnormal_records=6", "seconds=6"]
TINY_TRAIN = ["betas=0.5,2", "epochs=4", "hidden=32", "latent_dim=4", "bootstrap=100"]


def _sets(items: list[str]) -> list[str]:
    return [a for s in items for a in ("--set", s)]


@pytest.mark.slow  # trains two small VAEs (~30 s wall with TensorFlow's start-up on a loaded core)
def test_tiny_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, run = tmp_path / "data", tmp_path / "run"
    _ok(["task", "pcg-anomaly", "data", "--out", str(data), *_sets(TINY_DATA)], capsys)
    assert (data / "training-a" / "REFERENCE.csv").is_file() and (data / "pcg_synth.json").is_file()
    out = _ok(["task", "pcg-anomaly", "train", "--data", str(data), "--out", str(run), *_sets(TINY_TRAIN)], capsys)
    assert "beta-0.5" in out and "beta-2" in out
    train = json.loads((run / "train.json").read_text())
    labels = {rid: t["label"] for rid, t in json.loads((data / "pcg_synth.json").read_text())["records"].items()}
    assert all(labels[r] == -1 for r in train["split"]["train"] + train["split"]["val"])  # normal only
    assert sum(labels[r] == 1 for r in train["split"]["test"]) == 6
    # 12 normal: 4 test, 2 validation, 6 training; 6 s = 298 frames = 8 windows of 64 every 32
    assert train["windows"] == {"train": 6 * 8, "val": 2 * 8, "frames": 64, "bands": 16}
    assert (run / "models" / "beta-0.5.encoder.weights.h5").is_file()

    _ok(["task", "pcg-anomaly", "eval", str(run)], capsys)
    m = json.loads((run / "metrics.json").read_text())
    assert m["generated"] is True and (m["n_normal"], m["n_abnormal"]) == (4, 6)
    assert set(m["betas"]) == {"beta-0.5", "beta-2"}
    for r in m["betas"].values():
        for s in ("reconstruction", "kl", "mahalanobis"):
            sc = r["scores"][s]
            y = np.array([m["records"][rid]["label"] for rid in sc["per_record"]])
            assert sc["auc"] == metrics.auc(y, np.array(list(sc["per_record"].values())))
            assert sc["ci"][0] <= sc["auc"] <= sc["ci"][1]
            assert (sc["fpr"][0], sc["tpr"][0], sc["fpr"][-1], sc["tpr"][-1]) == (0.0, 0.0, 1.0, 1.0)
    # trained on normal windows only, the reconstruction error ranks murmurs above normal records
    assert max(r["scores"]["reconstruction"]["auc"] for r in m["betas"].values()) >= 0.75
    _ok(["task", "pcg-anomaly", "eval", str(run)], capsys)
    assert json.loads((run / "metrics.json").read_text()) == m  # scoring is deterministic

    # int8 (the project's quantiser, run in TFLite Micro): the float twin of the scoring networks gives eval's AUCs,
    # and int8 keeps the reconstruction close to float's
    q = int8_scores(run, betas=("beta-0.5",), calibration=64)["betas"]["beta-0.5"]
    for s in ("reconstruction", "kl", "mahalanobis"):
        assert q["float"][s] == pytest.approx(m["betas"]["beta-0.5"]["scores"][s]["auc"], abs=1e-9)
        assert q["float_per_record"][s] == pytest.approx(m["betas"]["beta-0.5"]["scores"][s]["per_record"], rel=1e-4)
        assert abs(q["int8"][s] - q["float"][s]) <= 0.15, (s, q)
    assert abs(q["int8_recon_mse"] - q["float_recon_mse"]) <= 0.05 * q["float_recon_mse"]

    out = _ok(["task", "pcg-anomaly", "report", str(run)], capsys)
    md = (run / "report" / "report.md").read_text()
    page = (run / "report" / "report.html").read_text()
    assert "report.md" in out and "## Published anchor (their data, not ours)" in md
    assert "| beta-VAE, reconstruction-loss score, best beta < 1 | ROC AUC (normal vs abnormal records) | 0.91 |" in md
    assert "figures here are on generated data" in md
    r05 = m["betas"]["beta-0.5"]["scores"]["reconstruction"]
    assert f"| 0.5 | {r05['auc']:.3f} [{r05['ci'][0]:.3f}, {r05['ci'][1]:.3f}] |" in md
    assert "Anchor 'best beta < 1' (reconstruction score):" in md
    assert (run / "report" / "figures" / "roc.png").read_bytes()[:4] == b"\x89PNG"
    assert page.count("data:image/png;base64,") == 2


def test_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from edgekws.cli import main

    (tmp_path / "empty").mkdir()
    for argv in (["task", "pcg-anomaly", "train", "--data", str(tmp_path / "empty"), "--out", str(tmp_path / "r")],
                 ["task", "pcg-anomaly", "train", "--data", str(tmp_path / "empty"), "--out", str(tmp_path / "r"),
                  "--set", "betas=0"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        err = capsys.readouterr().err
        assert info.value.code != 0 and "Traceback" not in err and err.strip().count("\n") == 0, err
