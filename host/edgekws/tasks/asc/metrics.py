"""Scene-classification metrics: the challenge's class-wise accuracy, its bootstrap interval, McNemar's test.

DCASE 2024 Task 1 ranks by *class-wise* accuracy (the mean of the per-scene
accuracies), so a test split with unequal scene counts does not favour the common
scenes. Its interval comes from resampling clips (200 bootstrap draws); a plain
accuracy gets Wilson's interval (:func:`edgekws.metrics.accuracy`). Two methods
scored on the *same* test clips are compared by McNemar's exact test on the clips
where exactly one of them is right, which is far more sensitive than comparing two
intervals.
"""

from __future__ import annotations

import numpy as np

from edgekws.metrics import mcnemar_p  # re-exported: the scene pipeline compares methods with it


def per_class_accuracy(pred: np.ndarray, y: np.ndarray, n_classes: int) -> list[float | None]:
    """Accuracy on each class's clips (None for a class absent from ``y``)."""
    out: list[float | None] = []
    for k in range(n_classes):
        m = y == k
        out.append(float(np.mean(pred[m] == k)) if m.any() else None)
    return out


def classwise_accuracy(pred: np.ndarray, y: np.ndarray, n_classes: int) -> float:
    """Mean of the per-class accuracies over the classes present in ``y``."""
    vals = [v for v in per_class_accuracy(pred, y, n_classes) if v is not None]
    return float(np.mean(vals)) if vals else 0.0


def bootstrap_classwise(pred: np.ndarray, y: np.ndarray, n_classes: int, n_boot: int = 200,
                        seed: int = 0) -> tuple[float, float]:
    """2.5 and 97.5 percentiles of the class-wise accuracy over clips drawn with replacement."""
    rng = np.random.default_rng([seed, 47])
    vals = []
    for _ in range(n_boot):
        i = rng.integers(len(y), size=len(y))
        vals.append(classwise_accuracy(pred[i], y[i], n_classes))
    return float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))


__all__ = ["bootstrap_classwise", "classwise_accuracy", "mcnemar_p", "per_class_accuracy"]
