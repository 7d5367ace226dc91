"""Segmentation metrics: S1/S2 detection F1 within a tolerance on sound centres, and per-frame state accuracy.

The literature's measure (Springer et al. 2016, Schmidt et al. 2010): a predicted
S1 (or S2) counts as correct when its centre lies within +-``tolerance_s`` (60 ms)
of an annotated S1 (S2) centre that no other prediction has claimed; F1 over all
predicted and annotated sounds. Sounds inside unannotated stretches are ignored on
both sides, so a record's unlabelled start does not count as false alarms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgekws.tasks.pcg_seg.decode import runs

S1_CODE, S2_CODE = 1, 3


def sound_centres(states: np.ndarray, code: int, frame_times: np.ndarray) -> np.ndarray:
    """Centre times (s) of the runs of ``code`` in a per-frame state sequence."""
    return np.array([float(frame_times[a:a + n].mean()) for st, a, n in runs(states) if st == code])


def match(pred: np.ndarray, true: np.ndarray, tolerance_s: float) -> int:
    """True positives: one-to-one matches, closest pairs first, each within the tolerance."""
    if len(pred) == 0 or len(true) == 0:
        return 0
    dist = np.abs(pred[:, None] - true[None, :])
    pairs = np.argwhere(dist <= tolerance_s)
    order = np.argsort(dist[pairs[:, 0], pairs[:, 1]], kind="stable")
    used_p: set[int] = set()
    used_t: set[int] = set()
    for i, j in pairs[order]:
        if i not in used_p and j not in used_t:
            used_p.add(int(i))
            used_t.add(int(j))
    return len(used_p)


@dataclass
class Counts:
    """Detection and frame counts, summed over records."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    frames_correct: int = 0
    frames: int = 0

    def add(self, other: Counts) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        self.frames_correct += other.frames_correct
        self.frames += other.frames

    @property
    def f1(self) -> float:
        d = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / d if d else 0.0

    @property
    def accuracy(self) -> float:
        return self.frames_correct / self.frames if self.frames else 0.0


def record_counts(pred: np.ndarray, true: np.ndarray, frame_times: np.ndarray, tolerance_s: float) -> Counts:
    """Counts of one record. ``true`` uses 0 for unannotated frames; those frames (and sounds in them) are skipped."""
    pred = np.asarray(pred)
    true = np.asarray(true)
    annotated = true > 0
    c = Counts(frames_correct=int(np.sum(pred[annotated] == true[annotated])), frames=int(annotated.sum()))
    for code in (S1_CODE, S2_CODE):
        p = sound_centres(pred, code, frame_times)
        t = sound_centres(true, code, frame_times)
        if len(p):  # predictions at unannotated times are neither right nor wrong
            idx = np.clip(np.searchsorted(frame_times, p), 0, len(frame_times) - 1)
            p = p[annotated[idx]]
        tp = match(p, t, tolerance_s)
        c.tp += tp
        c.fp += len(p) - tp
        c.fn += len(t) - tp
    return c


def bootstrap_ci(per_record: list[Counts], stat: str, n_boot: int = 1000, seed: int = 0,
                 confidence: float = 0.95) -> tuple[float, float]:
    """Percentile interval of ``stat`` (``"f1"`` or ``"accuracy"``) resampling *records* (frames of one record are
    not independent, so a frame-level binomial interval would be far too narrow)."""
    if not per_record:
        return (0.0, 0.0)
    rng = np.random.default_rng(seed)
    arr = np.array([[c.tp, c.fp, c.fn, c.frames_correct, c.frames] for c in per_record], dtype=np.float64)
    idx = rng.integers(0, len(arr), size=(n_boot, len(arr)))
    s = arr[idx].sum(axis=1)
    if stat == "f1":
        den = 2 * s[:, 0] + s[:, 1] + s[:, 2]
        vals = np.where(den > 0, 2 * s[:, 0] / np.maximum(den, 1), 0.0)
    else:
        vals = np.where(s[:, 4] > 0, s[:, 3] / np.maximum(s[:, 4], 1), 0.0)
    a = (1 - confidence) / 2
    return float(np.quantile(vals, a)), float(np.quantile(vals, 1 - a))
