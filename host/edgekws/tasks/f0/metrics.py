"""Scores of F0 contours: mir_eval's melody and multipitch metrics, contour flatness, intervals over tracks.

* Raw pitch accuracy (RPA): share of truth-voiced frames whose estimate is within
  50 cents; raw chroma accuracy (RCA): the same with octave errors forgiven;
  overall accuracy (OA): share of all frames right in voicing and (if voiced)
  pitch; voicing recall / false alarm. All from ``mir_eval.melody.evaluate``.
* **Contour flatness** (ours): among *in-note steps* -- consecutive frames both
  voiced in the truth with the truth moving by less than 50 cents (so note
  changes and fast glides are excluded; vibrato stays in) -- the share where the
  estimate is voiced at both frames and moves by within 50 cents of what the
  truth moves. 1 = the contour never breaks or jumps inside a note; an octave
  flip or a one-frame dropout inside a note costs one or two steps each. RPA
  cannot see this: a contour that flickers between right and an octave off
  every other frame has RPA 0.5 and flatness 0.
* Multi-F0: ``mir_eval.multipitch.evaluate`` (precision, recall, accuracy, and
  the chroma accuracy) over all frames of a mixture.

Per-track scores are averaged over tracks (as MIREX does); the 95 % interval is a
seeded bootstrap over tracks.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from edgekws.tasks.f0.dataset import Track, resample_truth
from edgekws.tasks.f0.features import frame_times

MELODY_KEYS = {"Raw Pitch Accuracy": "rpa", "Raw Chroma Accuracy": "rca", "Overall Accuracy": "oa",
               "Voicing Recall": "voicing_recall", "Voicing False Alarm": "voicing_false_alarm"}
MULTI_KEYS = {"Accuracy": "accuracy", "Precision": "precision", "Recall": "recall",
              "Chroma Accuracy": "chroma_accuracy"}


def melody_scores(ref_times: np.ndarray, ref_f0: np.ndarray, est_f0: np.ndarray) -> dict[str, float]:
    """RPA, RCA, OA, voicing recall / false alarm (mir_eval) and flatness of ``est_f0`` on the analysis grid."""
    import mir_eval

    est_t = frame_times(len(est_f0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mir_eval warns about empty voicing and non-zero start times
        raw = mir_eval.melody.evaluate(np.asarray(ref_times, float), np.asarray(ref_f0, float), est_t,
                                       np.asarray(est_f0, float))
    out = {k: float(raw[m]) for m, k in MELODY_KEYS.items()}
    out["flatness"] = flatness(ref_times, ref_f0, est_f0)
    return out


def flatness(ref_times: np.ndarray, ref_f0: np.ndarray, est_f0: np.ndarray, jump_cents: float = 50.0) -> float:
    """Contour flatness as the module docstring defines it (NaN when the truth has no in-note step)."""
    ref = resample_truth(np.asarray(ref_times, float), np.asarray(ref_f0, float)[:, None],
                         frame_times(len(est_f0)))[:, 0]
    est = np.asarray(est_f0, float)
    cents = lambda f: 1200.0 * np.log2(np.maximum(f, 1e-9))  # noqa: E731
    in_note = (ref[:-1] > 0) & (ref[1:] > 0)
    d_ref = np.diff(cents(ref))
    in_note &= np.abs(d_ref) < jump_cents
    if not in_note.any():
        return float("nan")
    est_ok = (est[:-1] > 0) & (est[1:] > 0)
    d_est = np.diff(cents(est))
    flat = est_ok & (np.abs(d_est - d_ref) <= jump_cents)
    return float(np.sum(flat & in_note) / np.sum(in_note))


def multipitch_scores(track: Track, cands: list[np.ndarray]) -> dict[str, float]:
    """mir_eval multipitch scores of per-frame candidate sets against every voice of ``track``."""
    import mir_eval

    ref_freqs = [row[row > 0] for row in track.f0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = mir_eval.multipitch.evaluate(np.asarray(track.times, float), ref_freqs,
                                           frame_times(len(cands)), [np.asarray(c, float) for c in cands])
    return {k: float(raw[m]) for m, k in MULTI_KEYS.items()}


def json_safe(obj: Any) -> Any:
    """``obj`` with every non-finite float (flatness of a track without in-note steps) as None: JSON has no NaN."""
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [json_safe(v) for v in obj]
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def mean_ci(values: list[float | None], seed: int = 0, n_boot: int = 2000) -> dict[str, Any]:
    """Mean over tracks and a seeded 95 % bootstrap interval over tracks (NaN / None tracks dropped)."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], float)
    if len(v) == 0:
        return {"mean": None, "ci": [None, None], "n": 0}
    rng = np.random.default_rng(seed)
    boots = v[rng.integers(0, len(v), (n_boot, len(v)))].mean(axis=1)
    return {"mean": float(v.mean()), "ci": [float(np.quantile(boots, 0.025)), float(np.quantile(boots, 0.975))],
            "n": int(len(v))}
