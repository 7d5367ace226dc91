"""Pure figures of one evaluation: labels and predictions in, a JSON-ready dict out.

Why separate from the runner: the same figures are computed for the host run
(TFLite Micro) and for a device run, and tests check them on hand-made label
vectors without any model. Every accuracy carries its 95 % Wilson interval
(:mod:`edgekws.metrics`): a few hundred real clips leave several points of
uncertainty, and a figure without it reads as more exact than it is.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edgekws.data.speech_commands import SILENCE_LABEL, UNKNOWN_LABEL
from edgekws.errors import DatasetError
from edgekws.metrics import accuracy

FILLERS: tuple[str, ...] = (SILENCE_LABEL, UNKNOWN_LABEL)


def confusion(y: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts ``[true, predicted]``; a label or prediction outside the classes is an error, not dropped."""
    y = np.asarray(y, np.int64)
    pred = np.asarray(pred, np.int64)
    if y.shape != pred.shape:
        raise DatasetError(f"{len(y)} labels but {len(pred)} predictions")
    for what, v in (("label", y), ("prediction", pred)):
        if v.size and (v.min() < 0 or v.max() >= n_classes):
            raise DatasetError(f"a {what} lies outside the {n_classes} classes")
    cm = np.zeros((n_classes, n_classes), np.int64)
    np.add.at(cm, (y, pred), 1)
    return cm


def score(y: np.ndarray, pred: np.ndarray, labels: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """12-class and keyword-only accuracy, per-class recall, confusion matrix and false accepts.

    - ``accuracy``: every clip, the argmax over all classes must equal the label;
    - ``keyword_accuracy``: only the clips of keywords (not ``_silence_``/``_unknown_``), same rule;
    - ``per_class``: recall of each class with its interval;
    - ``false_accepts``: ``_silence_``/``_unknown_`` clips classified as any keyword (a detector's
      false alarm), count and rate with its interval, and per filler class.
    """
    labels = list(labels)
    y = np.asarray(y, np.int64)
    pred = np.asarray(pred, np.int64)
    cm = confusion(y, pred, len(labels))
    correct = np.diag(cm)
    filler_idx = [i for i, name in enumerate(labels) if name in FILLERS]
    keyword_idx = [i for i, name in enumerate(labels) if name not in FILLERS]
    kw_rows = cm[keyword_idx]
    per_class = {}
    for i, name in enumerate(labels):
        per_class[name] = accuracy(int(correct[i]), int(cm[i].sum())).as_dict()
    fa_by_class = {labels[i]: {"count": int(cm[i, keyword_idx].sum()), "n": int(cm[i].sum())} for i in filler_idx}
    fa_count = sum(v["count"] for v in fa_by_class.values())
    fa_n = sum(v["n"] for v in fa_by_class.values())
    fa = accuracy(fa_count, fa_n).as_dict()
    fa["rate"] = fa.pop("accuracy")
    fa["count"] = fa.pop("correct")
    fa["by_class"] = fa_by_class
    return {
        "labels": labels,
        "clips": int(len(y)),
        "accuracy": accuracy(int(correct.sum()), int(cm.sum())).as_dict(),
        "keyword_accuracy": accuracy(int(sum(correct[i] for i in keyword_idx)), int(kw_rows.sum())).as_dict(),
        "per_class": per_class,
        "false_accepts": fa,
        "confusion": cm.tolist(),
    }
