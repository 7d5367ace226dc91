"""Frame-wise vocal detection scores: median smoothing, precision / recall / F-score / accuracy, clip-bootstrap intervals.

The singing-voice detection literature scores every frame (vocal = positive class) and
smooths the network's posteriors with a median filter before the threshold, because a
voice does not switch on and off within a few tens of milliseconds. Frames of one clip
are strongly correlated, so an interval from a binomial over frames would be far too
narrow; intervals here resample whole *clips* (the independent units), and a paired
comparison of two models resamples the same clips for both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N_BOOT = 1000


def median_smooth(posteriors: np.ndarray, frames: int) -> np.ndarray:
    """Running median over ``frames`` (made odd; <= 1 leaves the posteriors as they are), edges held."""
    from scipy.ndimage import median_filter

    p = np.asarray(posteriors, np.float32)
    k = int(frames) | 1
    return p.copy() if k <= 1 else median_filter(p, size=k, mode="nearest")


def median_frames(seconds: float, hop_seconds: float) -> int:
    """Odd filter length covering ``seconds`` (at least 1)."""
    return int(round(seconds / hop_seconds)) | 1 if seconds > 0 else 1


@dataclass(frozen=True)
class Counts:
    tp: int
    fp: int
    fn: int
    tn: int

    @classmethod
    def of(cls, pred: np.ndarray, truth: np.ndarray) -> Counts:
        p = np.asarray(pred, bool)
        t = np.asarray(truth, bool)
        if p.shape != t.shape:
            raise ValueError(f"prediction shape {p.shape} != truth shape {t.shape}")
        return cls(int(np.sum(p & t)), int(np.sum(p & ~t)), int(np.sum(~p & t)), int(np.sum(~p & ~t)))

    def __add__(self, o: Counts) -> Counts:
        return Counts(self.tp + o.tp, self.fp + o.fp, self.fn + o.fn, self.tn + o.tn)

    def scores(self) -> dict[str, float]:
        """Precision, recall, F-score of the vocal class, and accuracy (0 where a ratio is 0/0)."""
        n = self.tp + self.fp + self.fn + self.tn
        return {"precision": self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0,
                "recall": self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0,
                "f": 2 * self.tp / (2 * self.tp + self.fp + self.fn) if self.tp + self.fp + self.fn else 0.0,
                "accuracy": (self.tp + self.tn) / n if n else 0.0}


def _stack(counts: list[Counts]) -> np.ndarray:
    return np.array([[c.tp, c.fp, c.fn, c.tn] for c in counts], np.int64)


def _scores_of(arr: np.ndarray) -> dict[str, np.ndarray]:
    """Scores of many summed count rows at once (``arr [..., 4]``)."""
    tp, fp, fn, tn = (arr[..., i].astype(np.float64) for i in range(4))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = {"precision": np.where(tp + fp > 0, tp / (tp + fp), 0.0),
               "recall": np.where(tp + fn > 0, tp / (tp + fn), 0.0),
               "f": np.where(tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0),
               "accuracy": (tp + tn) / np.maximum(tp + fp + fn + tn, 1)}
    return out


def score_clips(per_clip: list[Counts], seed: int = 0, n_boot: int = N_BOOT) -> dict[str, object]:
    """Pooled scores over all frames and, per score, a 95 % interval from resampling clips."""
    arr = _stack(per_clip)
    total = Counts(*map(int, arr.sum(axis=0)))
    rng = np.random.default_rng([seed, 18])
    draws = arr[rng.integers(len(arr), size=(n_boot, len(arr)))].sum(axis=1)
    boot = _scores_of(draws)
    out: dict[str, object] = dict(total.scores())
    out["ci"] = {k: [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))] for k, v in boot.items()}
    out["counts"] = total.__dict__
    out["clips"] = len(per_clip)
    return out


def paired_difference(a: list[Counts], b: list[Counts], metric: str = "f", seed: int = 0,
                      n_boot: int = N_BOOT) -> dict[str, float]:
    """``metric(b) - metric(a)`` on the same clips with a paired clip-bootstrap 95 % interval."""
    if len(a) != len(b):
        raise ValueError("paired comparison needs the same clips for both models")
    xa, xb = _stack(a), _stack(b)
    rng = np.random.default_rng([seed, 19])
    idx = rng.integers(len(xa), size=(n_boot, len(xa)))
    d = _scores_of(xb[idx].sum(axis=1))[metric] - _scores_of(xa[idx].sum(axis=1))[metric]
    point = float(_scores_of(xb.sum(axis=0))[metric] - _scores_of(xa.sum(axis=0))[metric])
    lo, hi = float(np.percentile(d, 2.5)), float(np.percentile(d, 97.5))
    return {"difference": point, "ci": [lo, hi], "separated": bool(lo > 0 or hi < 0)}
