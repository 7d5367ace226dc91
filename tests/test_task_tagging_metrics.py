"""tagging-ctc metrics on inputs whose answers are known by hand, and AUC against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest

from edgekws.tasks.tagging_ctc import metrics as m


def test_binary_auc_known_values() -> None:
    # positives score 0.35 and 0.8; negatives 0.1 and 0.4: 3 of the 4 pairs ordered right
    assert m.binary_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])) == pytest.approx(0.75)
    assert m.binary_auc(np.array([0, 1]), np.array([0.2, 0.9])) == 1.0
    assert m.binary_auc(np.array([0, 1]), np.array([0.9, 0.2])) == 0.0
    assert m.binary_auc(np.array([0, 1, 0, 1]), np.full(4, 0.5)) == 0.5  # ties count one half
    assert np.isnan(m.binary_auc(np.array([1, 1]), np.array([0.2, 0.3])))  # one class only: undefined


def test_macro_auc_skips_undefined_classes_and_matches_sklearn() -> None:
    truth = np.array([[1, 0, 1], [0, 0, 1], [1, 0, 1], [0, 0, 1]])
    scores = np.array([[0.9, 0.1, 0.5], [0.2, 0.3, 0.4], [0.6, 0.2, 0.3], [0.7, 0.9, 0.2]])
    macro, per = m.macro_auc(truth, scores)
    assert per[0] == pytest.approx(0.75) and np.isnan(per[1]) and np.isnan(per[2])
    assert macro == pytest.approx(0.75)
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    truth = (rng.random((300, 6)) < 0.3).astype(int)
    scores = np.round(truth * 0.3 + rng.random((300, 6)), 2)  # rounded: many ties
    assert m.macro_auc(truth, scores)[0] == pytest.approx(sk.roc_auc_score(truth, scores, average="macro"))
    with pytest.raises(ValueError):
        m.macro_auc(truth[:, :3], scores)


def test_bootstrap_interval_holds_the_estimate_and_shrinks_with_n() -> None:
    rng = np.random.default_rng(1)

    def width(n: int) -> float:
        truth = (rng.random((n, 4)) < 0.4).astype(int)
        scores = truth * 0.5 + rng.random((n, 4))
        lo, hi = m.bootstrap_macro_auc(truth, scores, seed=0)
        assert lo <= m.macro_auc(truth, scores)[0] <= hi
        return hi - lo

    assert width(800) < 0.5 * width(50)  # ~ 1/sqrt(n): a quarter, in expectation


def test_ctc_greedy_decode() -> None:
    blank = 3
    # frames: a a blank a b b blank blank c -> merges repeats, a blank separates the two a's
    path = [0, 0, 3, 0, 1, 1, 3, 3, 2]
    post = np.eye(4)[path] * 0.9 + 0.025
    assert m.ctc_greedy_decode(post, blank) == [0, 0, 1, 2]
    assert m.ctc_greedy_decode(np.eye(4)[[3, 3, 3]], blank) == []


def test_order_metrics_and_edit_distance() -> None:
    assert m.edit_distance([0, 1, 2], [0, 1, 2]) == 0
    assert m.edit_distance([0, 2], [0, 1, 2]) == 1
    assert m.edit_distance([1, 0], [0, 1]) == 2  # the same tags in the wrong order are wrong
    out = m.order_metrics([[0, 1], [1, 0], [2]], [[0, 1], [0, 1], [2]])
    assert out["order_correct"] == 2 and out["n"] == 3
    assert out["order_accuracy"] == pytest.approx(2 / 3)
    assert out["ci_low"] < 2 / 3 < out["ci_high"]
    assert out["label_error_rate"] == pytest.approx(2 / 5)


def test_multi_hot() -> None:
    y = m.multi_hot([[0, 2, 0], [1]], 3)
    assert y.tolist() == [[1, 0, 1], [0, 1, 0]]
