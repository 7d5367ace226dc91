"""Mean average precision (Geo-ATBench's metric), per-class AP, and bootstrap 95 % intervals over clips.

AP per class is what ``sklearn.metrics.average_precision_score`` computes (the
step-wise area under the precision-recall curve; :func:`average_precision` is its
numpy twin, checked against sklearn by a test); mAP is its mean over the classes that have at least
one positive clip (AP is undefined without positives, and sklearn's ``macro`` would
warn and count such a class as 0). The interval is a seeded percentile bootstrap over
clips; the difference of two methods is bootstrapped *paired* (the same resampled
clips for both), which is what says whether a fusion beats audio-only on this test set.
"""

from __future__ import annotations

import numpy as np


def average_precision(y: np.ndarray, score: np.ndarray) -> float:
    """AP of one class, the quantity ``sklearn.metrics.average_precision_score`` computes (a test compares
    them, ties included): sum over distinct score thresholds of (recall step) x precision. Written out in
    numpy because the bootstrap calls it ~10^4 times per report, where sklearn's input checks dominate."""
    y = np.asarray(y).astype(bool)
    n_pos = int(y.sum())
    if n_pos == 0:
        return float("nan")
    order = np.argsort(-np.asarray(score, dtype=np.float64), kind="mergesort")
    s, t = np.asarray(score, dtype=np.float64)[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # the last clip of each distinct score
    tps = np.cumsum(t)[last]
    precision = tps / (last + 1)
    recall_step = np.diff(np.r_[0, tps]) / n_pos
    return float(np.sum(recall_step * precision))


def class_ap(truth: np.ndarray, scores: np.ndarray) -> list[float]:
    """AP of each class ``[K]``; NaN for a class with no positive clip."""
    truth, scores = _check(truth, scores)
    return [average_precision(truth[:, k], scores[:, k]) for k in range(truth.shape[1])]


def mean_ap(truth: np.ndarray, scores: np.ndarray) -> float:
    """mAP over the classes with at least one positive clip (NaN when none has one)."""
    per = [a for a in class_ap(truth, scores) if not np.isnan(a)]
    return float(np.mean(per)) if per else float("nan")


def _check(truth: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    truth, scores = np.asarray(truth), np.asarray(scores, dtype=np.float64)
    if truth.shape != scores.shape or truth.ndim != 2:
        raise ValueError(f"truth and scores must both be [clips, classes], got {truth.shape} and {scores.shape}")
    return truth.astype(bool), scores


def bootstrap_map(truth: np.ndarray, scores: np.ndarray, n_boot: int = 200, seed: int = 0,
                  columns: list[int] | None = None) -> tuple[float, float]:
    """95 % percentile interval of the mAP (over ``columns`` only, if given) over clips resampled with
    replacement."""
    if columns is not None:
        truth, scores = np.asarray(truth)[:, columns], np.asarray(scores)[:, columns]
    rng = np.random.default_rng(seed)
    n = len(truth)
    vals = [mean_ap(truth[idx], scores[idx]) for idx in (rng.integers(0, n, size=n) for _ in range(n_boot))]
    vals = [v for v in vals if not np.isnan(v)]
    if not vals:
        return float("nan"), float("nan")
    return float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))


def bootstrap_map_difference(truth: np.ndarray, scores_a: np.ndarray, scores_b: np.ndarray, n_boot: int = 200,
                             seed: int = 0) -> tuple[float, float, float]:
    """mAP(a) - mAP(b) on the test set and its paired 95 % bootstrap interval (same clips for both)."""
    rng = np.random.default_rng(seed)
    n = len(truth)
    diffs = []
    for _ in range(n_boot):
        idx = rng.integers(0, n, size=n)
        d = mean_ap(truth[idx], scores_a[idx]) - mean_ap(truth[idx], scores_b[idx])
        if not np.isnan(d):
            diffs.append(d)
    point = mean_ap(truth, scores_a) - mean_ap(truth, scores_b)
    if not diffs:
        return point, float("nan"), float("nan")
    return point, float(np.percentile(diffs, 2.5)), float(np.percentile(diffs, 97.5))
