"""Segment-based F1 and error rate of detected events, with 95 % bootstrap intervals over clips.

The figures come from ``sed_eval`` (0.2.1, the DCASE challenges' reference
implementation: Mesaros, Heittola, Virtanen 2016), so they mean what SED papers mean
by them. The intervals need the metric on a thousand resamples of the test clips,
which sed_eval's per-file objects are too slow for, so :func:`segment_counts` recomputes
each clip's counts the way sed_eval does (segment ``floor(onset / res)`` to
``ceil(offset / res)`` active, per segment ``S = min(FN, FP)``, ``D = max(0, FN - FP)``,
``I = max(0, FP - FN)``); counts add over clips, so a resample is a sum. Evaluation
refuses to report an interval whose counts disagree with sed_eval's own totals.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from edgekws.errors import DatasetError

#: Columns of a clip's count row.
COUNTS = ("tp", "fp", "fn", "subs", "dels", "ins", "n_ref")


@dataclass(frozen=True)
class Event:
    """One sound event: class label and its span in seconds from the clip's start."""

    label: str
    onset: float
    offset: float


def event_roll(events: Sequence[Event], labels: Sequence[str], resolution: float, n_segments: int) -> np.ndarray:
    """``[n_segments, classes]`` 0/1: a segment is active for a class if an event of it overlaps the segment.

    Same arithmetic as sed_eval (``floor(onset / res)``, ``ceil(offset / res)``), so the
    two agree on events that end exactly on a segment edge.
    """
    roll = np.zeros((n_segments, len(labels)), dtype=np.int64)
    for e in events:
        a = int(math.floor(e.onset * 1 / float(resolution)))
        b = int(math.ceil(e.offset * 1 / float(resolution)))
        roll[max(a, 0): max(min(b, n_segments), 0), labels.index(e.label)] = 1
    return roll


def segment_counts(ref: Sequence[Event], est: Sequence[Event], labels: Sequence[str], resolution: float,
                   length_s: float) -> np.ndarray:
    """A clip's counts in :data:`COUNTS` order on a grid of ``ceil(length_s / resolution)`` segments."""
    n = int(math.ceil(length_s * 1 / float(resolution)))
    r = event_roll(ref, labels, resolution, n)
    s = event_roll(est, labels, resolution, n)
    fn_t = (r & (1 - s)).sum(axis=1)
    fp_t = (s & (1 - r)).sum(axis=1)
    return np.array([int((r & s).sum()), int(fp_t.sum()), int(fn_t.sum()), int(np.minimum(fn_t, fp_t).sum()),
                     int(np.maximum(0, fn_t - fp_t).sum()), int(np.maximum(0, fp_t - fn_t).sum()), int(r.sum())],
                    dtype=np.int64)


def scores(counts: np.ndarray) -> dict[str, float]:
    """Overall (micro) F1, precision, recall and error rate with its parts, from summed counts."""
    tp, fp, fn, subs, dels, ins, n_ref = (float(v) for v in np.asarray(counts).reshape(-1)[:7])
    def ratio(a: float, b: float) -> float:
        return a / b if b else float("nan")
    return {"f1": ratio(2 * tp, 2 * tp + fp + fn), "precision": ratio(tp, tp + fp), "recall": ratio(tp, tp + fn),
            "error_rate": ratio(subs + dels + ins, n_ref), "substitution_rate": ratio(subs, n_ref),
            "deletion_rate": ratio(dels, n_ref), "insertion_rate": ratio(ins, n_ref)}


def bootstrap(per_clip: np.ndarray, n_boot: int = 1000, seed: int = 0) -> dict[str, tuple[float, float]]:
    """95 % percentile intervals of F1 and error rate over clips resampled with replacement."""
    per_clip = np.asarray(per_clip)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(per_clip), size=(n_boot, len(per_clip)))
    sums = per_clip[idx].sum(axis=1)  # [n_boot, 7]
    out = {}
    for key in ("f1", "error_rate"):
        vals = np.array([scores(s)[key] for s in sums])
        vals = vals[np.isfinite(vals)]
        out[key] = ((float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))) if len(vals)
                    else (float("nan"), float("nan")))
    return out


def sed_eval_scores(refs: Sequence[Sequence[Event]], ests: Sequence[Sequence[Event]], labels: Sequence[str],
                    resolution: float, length_s: float) -> dict[str, float]:
    """sed_eval's segment-based overall F1/ER (and class-wise average F1) over clips of ``length_s`` seconds."""
    import sed_eval

    metric = sed_eval.sound_event.SegmentBasedMetrics(event_label_list=list(labels), time_resolution=resolution)
    for i, (ref, est) in enumerate(zip(refs, ests, strict=True)):
        name = f"clip{i:05d}"
        metric.evaluate(reference_event_list=[_item(name, e) for e in ref],
                        estimated_event_list=[_item(name, e) for e in est], evaluated_length_seconds=length_s)
    overall = metric.results_overall_metrics()
    classwise = metric.results_class_wise_average_metrics()
    return {"f1": float(overall["f_measure"]["f_measure"]), "precision": float(overall["f_measure"]["precision"]),
            "recall": float(overall["f_measure"]["recall"]), "error_rate": float(overall["error_rate"]["error_rate"]),
            "substitution_rate": float(overall["error_rate"]["substitution_rate"]),
            "deletion_rate": float(overall["error_rate"]["deletion_rate"]),
            "insertion_rate": float(overall["error_rate"]["insertion_rate"]),
            "classwise_f1": float(classwise["f_measure"]["f_measure"])}


def _item(name: str, e: Event) -> dict[str, object]:
    return {"filename": name, "event_label": e.label, "onset": float(e.onset), "offset": float(e.offset)}


def evaluate_events(refs: Sequence[Sequence[Event]], ests: Sequence[Sequence[Event]], labels: Sequence[str],
                    resolution: float, length_s: float, seed: int = 0) -> dict[str, object]:
    """sed_eval's figures plus bootstrap intervals from per-clip counts that must reproduce them."""
    per_clip = np.stack([segment_counts(r, e, labels, resolution, length_s) for r, e in zip(refs, ests, strict=True)])
    total = per_clip.sum(axis=0)
    if not total[6]:
        raise DatasetError("the test clips hold no reference events: segment F1 and error rate are undefined")
    ours = scores(total)
    ref = sed_eval_scores(refs, ests, labels, resolution, length_s)
    if not total[0] + total[1]:
        # a detector that fires nowhere: sed_eval leaves F1 and precision undefined (0/0); they are 0 here,
        # as 2 TP / (2 TP + FP + FN) gives and sklearn's zero_division=0 would, so reports can rank it
        ref = {**ref, **{k: 0.0 for k in ("f1", "precision", "classwise_f1") if math.isnan(ref[k])}}
        ours = {**ours, "f1": 0.0}
    for key in ("f1", "error_rate"):
        a, b = ours[key], ref[key]
        if not (math.isnan(a) and math.isnan(b)) and not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
            raise RuntimeError(f"segment counts disagree with sed_eval on {key}: {a} vs {b} "
                               f"(resolution {resolution} s): the intervals would be wrong")
    ci = bootstrap(per_clip, seed=seed)
    return {**ref, "f1_ci": list(ci["f1"]), "error_rate_ci": list(ci["error_rate"]),
            "counts": dict(zip(COUNTS, (int(v) for v in per_clip.sum(axis=0)), strict=True)),
            "resolution_s": resolution, "clips": len(refs)}
