"""svd metrics: frame precision/recall/F/accuracy on hand-counted frames, median smoothing, clip-bootstrap intervals."""

from __future__ import annotations

import numpy as np
import pytest

from edgekws.tasks.svd import metrics
from edgekws.tasks.svd.metrics import Counts


def test_frame_scores_by_hand() -> None:
    truth = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0], bool)
    pred = np.array([1, 1, 1, 0, 0, 1, 0, 0, 0, 0], bool)
    c = Counts.of(pred, truth)
    assert (c.tp, c.fp, c.fn, c.tn) == (3, 1, 2, 4)
    s = c.scores()
    assert s["precision"] == pytest.approx(0.75) and s["recall"] == pytest.approx(0.6)
    assert s["f"] == pytest.approx(2 * 0.75 * 0.6 / 1.35) and s["accuracy"] == pytest.approx(0.7)
    # F of the vocal class, not of the majority: all-nosing predictions score F 0 even at high accuracy
    sparse = np.zeros(100, bool)
    sparse[:5] = True
    nothing = Counts.of(np.zeros(100, bool), sparse).scores()
    assert nothing["f"] == 0.0 and nothing["accuracy"] == pytest.approx(0.95)
    with pytest.raises(ValueError, match="shape"):
        Counts.of(pred[:5], truth)


def test_scores_are_pooled_over_frames_not_averaged_over_clips() -> None:
    a = Counts(tp=90, fp=10, fn=0, tn=0)  # a long clip, F 0.947
    b = Counts(tp=0, fp=0, fn=1, tn=9)  # a short clip with F 0
    s = metrics.score_clips([a, b], n_boot=200)
    assert s["f"] == pytest.approx(180 / 191) and s["counts"] == {"tp": 90, "fp": 10, "fn": 1, "tn": 9}
    assert s["clips"] == 2


def test_median_smoothing() -> None:
    p = np.zeros(60, np.float32)
    p[10] = 1.0  # a one-frame spike: gone under a 5-frame median
    p[30:45] = 1.0  # a 15-frame segment: kept, edges unchanged
    s = metrics.median_smooth(p, 5)
    assert s[10] == 0.0 and np.array_equal(s[30:45], np.ones(15)) and s[29] == 0.0 and s[45] == 0.0
    assert np.array_equal(metrics.median_smooth(p, 4), metrics.median_smooth(p, 5))  # even lengths made odd
    assert np.array_equal(metrics.median_smooth(p, 0), p)
    assert metrics.median_frames(0.3, 0.02) == 15 and metrics.median_frames(0.0, 0.02) == 1


def test_bootstrap_interval_over_clips() -> None:
    rng = np.random.default_rng(0)
    clips = [Counts(int(tp), int(fp), int(fn), 100) for tp, fp, fn in rng.integers(0, 50, size=(40, 3))]
    s = metrics.score_clips(clips, seed=3)
    for k in ("f", "precision", "recall", "accuracy"):
        lo, hi = s["ci"][k]
        assert lo < s[k] < hi and hi - lo < 0.3
    perfect = metrics.score_clips([Counts(10, 0, 0, 10)] * 5)
    assert perfect["f"] == 1.0 and perfect["ci"]["f"] == [1.0, 1.0]


def test_paired_difference() -> None:
    rng = np.random.default_rng(1)
    worse = [Counts(int(t), 20, 20, 100) for t in rng.integers(20, 40, 30)]
    better = [Counts(c.tp + 15, 5, 5, 100) for c in worse]
    d = metrics.paired_difference(worse, better)
    assert d["difference"] > 0.1 and d["ci"][0] > 0 and d["separated"]
    back = metrics.paired_difference(better, worse)
    assert back["difference"] == pytest.approx(-d["difference"]) and back["ci"][1] < 0
    same = metrics.paired_difference(worse, worse)
    assert same == {"difference": 0.0, "ci": [0.0, 0.0], "separated": False}
    with pytest.raises(ValueError, match="same clips"):
        metrics.paired_difference(worse, better[:3])
