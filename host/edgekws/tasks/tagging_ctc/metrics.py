"""Tagging AUC (macro), CTC best-path decoding and order accuracy, with their 95 % intervals.

Pure numpy. AUC is the Mann-Whitney statistic (probability that a random positive
clip scores above a random negative one, ties counting one half), the quantity
``sklearn.metrics.roc_auc_score`` computes, written out so the task has no extra
dependency and a test can compare the two. Its interval is a seeded bootstrap over
clips: a few hundred test clips leave AUC differences of a point or two uncertain.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import rankdata

from edgekws.metrics import accuracy


def binary_auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC of scores ``[N]`` for binary truth ``[N]``; NaN when only one class is present."""
    y = np.asarray(y).astype(bool)
    s = np.asarray(score, dtype=np.float64)
    n_pos = int(y.sum())
    n_neg = int(len(y) - n_pos)
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(s)  # average ranks: ties count one half
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def macro_auc(truth: np.ndarray, scores: np.ndarray) -> tuple[float, list[float]]:
    """Mean of per-class AUCs over classes with both positive and negative clips; and the per-class list."""
    truth = np.asarray(truth)
    scores = np.asarray(scores)
    if truth.shape != scores.shape or truth.ndim != 2:
        raise ValueError(f"truth and scores must both be [clips, classes], got {truth.shape} and {scores.shape}")
    per = [binary_auc(truth[:, k], scores[:, k]) for k in range(truth.shape[1])]
    valid = [a for a in per if not np.isnan(a)]
    return (float(np.mean(valid)) if valid else float("nan")), per


def bootstrap_macro_auc(truth: np.ndarray, scores: np.ndarray, n_boot: int = 200,
                        seed: int = 0) -> tuple[float, float]:
    """95 % percentile interval of the macro AUC over clips resampled with replacement."""
    rng = np.random.default_rng(seed)
    n = len(truth)
    vals = []
    for _ in range(n_boot):
        idx = rng.integers(0, n, size=n)
        v, _ = macro_auc(truth[idx], scores[idx])
        if not np.isnan(v):
            vals.append(v)
    if not vals:
        return float("nan"), float("nan")
    return float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))


def ctc_greedy_decode(posteriors: np.ndarray, blank: int) -> list[int]:
    """Best-path decoding of frame posteriors ``[T, K+1]``: argmax per frame, merge repeats, drop blanks."""
    best = np.argmax(np.asarray(posteriors), axis=-1)
    out: list[int] = []
    prev = -1
    for c in best.tolist():
        if c != prev and c != blank:
            out.append(int(c))
        prev = c
    return out


def multi_hot(sequences: Sequence[Sequence[int]], n_classes: int) -> np.ndarray:
    """Clip tags ``[N, n_classes]`` (0/1) from label sequences: a class is present if it occurs anywhere."""
    y = np.zeros((len(sequences), n_classes), dtype=np.float32)
    for i, s in enumerate(sequences):
        y[i, list(s)] = 1.0
    return y


def edit_distance(a: Sequence[int], b: Sequence[int]) -> int:
    """Levenshtein distance between two label sequences."""
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        cur = [i]
        for j, y in enumerate(b, start=1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def order_metrics(decoded: Sequence[Sequence[int]], truth: Sequence[Sequence[int]]) -> dict[str, float | int]:
    """Order accuracy (decoded sequence equals the truth exactly, with its Wilson interval) and the
    label error rate (edit distance over truth length, summed over clips)."""
    if len(decoded) != len(truth):
        raise ValueError(f"{len(decoded)} decoded sequences for {len(truth)} clips")
    exact = sum(list(d) == list(t) for d, t in zip(decoded, truth, strict=True))
    acc = accuracy(exact, len(truth))
    errors = sum(edit_distance(d, t) for d, t in zip(decoded, truth, strict=True))
    length = sum(len(t) for t in truth)
    return {"order_accuracy": acc.value, "order_correct": exact, "n": len(truth), "ci_low": acc.low,
            "ci_high": acc.high, "label_error_rate": errors / length if length else float("nan")}
