"""Frame outputs -> events: CTC spikes grown into onsets/offsets by unsupervised clustering, and the weak baseline.

A CTC model trained on ordered label sequences says *what* happened and in which
order, but its posteriors are peaky: each event becomes a spike of one or two
frames, wherever the network found it convenient, so the spikes alone give no
boundaries. The boundaries come from the audio, without labels, in two clusterings:

1. **Activity** (per clip, 1-D two-means): the clip's quietest ``quiet_fraction`` of
   frames define its background; every frame's distance from that background's mean
   spectrum is split into "near" and "far" by two-means (Otsu's within-class variance). Far frames
   form runs of activity. Why this and not a threshold: the level of background and
   events differs per recording, and two-means picks the split from each clip's own
   frames, with nothing tuned on labels.
2. **Runs to spikes** (nearest prototype, order kept): each spike's prototype is the
   mean spectrum of the input frames under it. A run holding one spike belongs to it;
   a run holding several (events with short gaps merge into one run) is cut between
   each pair of neighbouring spikes where the frames switch from nearer one prototype
   to nearer the next (the cut that misassigns fewest frames, so the known order is
   respected); a run holding none goes to whichever of the spikes before and after it
   has the nearer prototype. A spike's event is its pieces joined across gaps up to
   ``bridge_s`` (bursty classes: clicks with silence between them), the joined span
   holding the spike or nearest to it; a spike that got no piece keeps its own frames.

Why nearest prototypes rather than, say, k-means over all frames with k = spikes + 1:
the spikes fix both the number of events and their order, so the only open question
is where one event ends and the next begins, and that is a 1-D cut between
neighbours, which this answers exactly, instead of hoping a global clustering keeps
the clusters contiguous and in order.

Weak baseline: the pooled model's frame probabilities (before pooling), thresholded
and median-filtered per class; each run above threshold is an event.

Time: input frame ``t`` stands for ``[t * hop + (win - hop) / 2, (t + 1) * hop + (win - hop) / 2)``
(the middle hop of its window); a model frame covers ``ratio`` input frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from edgekws.tasks.sed_ctc.metrics import Event


@dataclass(frozen=True)
class Timing:
    """How frames map to seconds: frontend hop and window, and input frames per model frame."""

    hop_s: float
    win_s: float
    ratio: int

    def start(self, t: int) -> float:
        """Start of input frame ``t`` in seconds."""
        return t * self.hop_s + (self.win_s - self.hop_s) / 2

    def event(self, label: str, a: int, b: int) -> Event:
        """The event covering input frames ``[a, b)``."""
        return Event(label, round(self.start(a), 6), round(self.start(b), 6))


@dataclass(frozen=True)
class Spike:
    """A CTC spike: class index and its model frame (the frame of highest posterior in its run)."""

    label: int
    frame: int


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[start, stop)`` of every run of True in a 1-D mask."""
    m = np.concatenate([[False], np.asarray(mask, bool), [False]])
    edges = np.flatnonzero(np.diff(m.astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def ctc_spikes(posteriors: np.ndarray, blank: int) -> list[Spike]:
    """Best path: runs of one non-blank class; each run is a spike at its highest-posterior frame."""
    post = np.asarray(posteriors)
    best = np.argmax(post, axis=-1)
    out = []
    for c in range(post.shape[1]):
        if c == blank:
            continue
        for a, b in runs(best == c):
            out.append(Spike(c, a + int(np.argmax(post[a:b, c]))))
    return sorted(out, key=lambda s: s.frame)


def spike_events(posteriors: np.ndarray, blank: int, labels: Sequence[str], timing: Timing) -> list[Event]:
    """The ablation without clustering: each best-path run of a class is an event, as long as its frames."""
    best = np.argmax(np.asarray(posteriors), axis=-1)
    out = [timing.event(labels[c], a * timing.ratio, b * timing.ratio)
           for c in range(len(labels)) for a, b in runs(best == c)]
    return sorted(out, key=lambda e: e.onset)


def two_means_split(values: np.ndarray, iterations: int = 50) -> float:
    """The threshold between two 1-D clusters: Lloyd's iterations started from the extremes, which end in a
    (local) minimum of the within-cluster variance, the quantity Otsu's threshold minimises."""
    v = np.asarray(values, np.float64)
    lo, hi = float(v.min()), float(v.max())
    if hi <= lo:
        return hi
    for _ in range(iterations):
        cut = (lo + hi) / 2
        a, b = v[v <= cut], v[v > cut]
        new_lo, new_hi = float(a.mean()), float(b.mean()) if len(b) else hi
        if new_lo == lo and new_hi == hi:
            break
        lo, hi = new_lo, new_hi
    return (lo + hi) / 2


def activity(features: np.ndarray, quiet_fraction: float) -> np.ndarray:
    """Per input frame: is it far from the clip's background (see module docstring, step 1)?"""
    f = np.asarray(features, np.float64)
    energy = f.mean(axis=1)
    k = max(1, int(round(quiet_fraction * len(f))))
    background = f[np.argsort(energy, kind="stable")[:k]].mean(axis=0)
    dist = np.linalg.norm(f - background, axis=1)
    return dist > two_means_split(dist)


def _best_cut(near_second: np.ndarray) -> int:
    """Where to cut between two spikes: ``m`` in ``[0, n)`` frames of ``near_second`` go to the first spike.

    ``near_second`` covers the frames after the first spike up to and including the
    second spike's own frame (True: nearer the second prototype); the returned ``m``
    leaves fewest frames on the wrong side, and never gives the second spike's own
    frame (the last one) away. Ties go to the earliest cut.
    """
    x = np.asarray(near_second, np.int64)
    wrong_first = np.concatenate([[0], np.cumsum(x)])  # second-like frames left of the cut
    wrong_second = (len(x) - x.sum()) - np.concatenate([[0], np.cumsum(1 - x)])  # first-like frames right of it
    return int(np.argmin((wrong_first + wrong_second)[:-1]))


def cluster_events(posteriors: np.ndarray, features: np.ndarray, blank: int, labels: Sequence[str],
                   timing: Timing, bridge_s: float, quiet_fraction: float) -> list[Event]:
    """CTC spikes -> events with onsets/offsets (module docstring: activity, runs to spikes, bridging)."""
    return grow_spikes(ctc_spikes(posteriors, blank), features, labels, timing, bridge_s, quiet_fraction)


def oracle_spikes(truth: Sequence[Event], labels: Sequence[str], timing: Timing) -> list[Spike]:
    """A spike at the model frame of each true event's centre: the clustering stage's input if CTC were perfect.

    A diagnostic that separates the two stages' errors (it reads the test labels, so it
    is never a system to compare), not something any method uses.
    """
    step = timing.hop_s * timing.ratio
    return sorted((Spike(list(labels).index(e.label),
                         max(0, int(((e.onset + e.offset) / 2 - (timing.win_s - timing.hop_s) / 2) // step)))
                   for e in truth), key=lambda s: s.frame)


def grow_spikes(spikes: Sequence[Spike], features: np.ndarray, labels: Sequence[str], timing: Timing,
                bridge_s: float, quiet_fraction: float) -> list[Event]:
    """Spikes (sorted by frame) -> events, by the two clusterings of the module docstring."""
    if not spikes:
        return []
    f = np.asarray(features, np.float64)
    n = len(f)
    r = timing.ratio
    pos = [min(s.frame * r + r // 2, n - 1) for s in spikes]
    protos = np.stack([f[s.frame * r: min((s.frame + 1) * r, n)].mean(axis=0) for s in spikes])

    def nearer(frames: np.ndarray, i: int, j: int) -> np.ndarray:
        """True where a frame is nearer spike j's prototype than spike i's."""
        return np.linalg.norm(frames - protos[j], axis=1) < np.linalg.norm(frames - protos[i], axis=1)

    pieces: list[list[tuple[int, int]]] = [[] for _ in spikes]
    for a, b in runs(activity(f, quiet_fraction)):
        inside = [k for k, p in enumerate(pos) if a <= p < b]
        if len(inside) == 1:
            pieces[inside[0]].append((a, b))
        elif inside:
            start = a
            for i, j in zip(inside, inside[1:], strict=False):
                cut = pos[i] + 1 + _best_cut(nearer(f[pos[i] + 1: pos[j] + 1], i, j)) if pos[j] > pos[i] else pos[j]
                pieces[i].append((start, cut))
                start = cut
            pieces[inside[-1]].append((start, b))
        else:
            before = [k for k, p in enumerate(pos) if p < a]
            after = [k for k, p in enumerate(pos) if p >= b]
            cands = ([before[-1]] if before else []) + ([after[0]] if after else [])
            if len(cands) == 1:
                pieces[cands[0]].append((a, b))
            elif cands:
                mean = f[a:b].mean(axis=0, keepdims=True)
                pieces[cands[1] if bool(nearer(mean, cands[0], cands[1])[0]) else cands[0]].append((a, b))
    bridge = int(round(bridge_s / timing.hop_s))
    events = []
    for k, s in enumerate(spikes):
        own = (s.frame * r, min((s.frame + 1) * r, n))
        if not pieces[k]:
            events.append(timing.event(labels[s.label], *own))
            continue
        spans: list[list[int]] = []
        for a, b in sorted(pieces[k]):
            if spans and a - spans[-1][1] <= bridge:
                spans[-1][1] = max(spans[-1][1], b)
            else:
                spans.append([a, b])
        p = pos[k]
        best = min(spans, key=lambda sp: 0 if sp[0] <= p < sp[1] else min(abs(sp[0] - p), abs(sp[1] - 1 - p)))
        events.append(timing.event(labels[s.label], best[0], best[1]))
    return sorted(events, key=lambda e: e.onset)


def weak_events(probabilities: np.ndarray, labels: Sequence[str], timing: Timing, threshold: float,
                median_frames: int) -> list[Event]:
    """The weakly labelled baseline: frame probabilities ``[T', K]`` > threshold, median-filtered, runs -> events."""
    from scipy.ndimage import median_filter

    active = np.asarray(probabilities) > threshold
    if median_frames > 1:
        active = median_filter(active.astype(np.uint8), size=(median_frames, 1), mode="nearest").astype(bool)
    out = [timing.event(labels[c], a * timing.ratio, b * timing.ratio)
           for c in range(len(labels)) for a, b in runs(active[:, c])]
    return sorted(out, key=lambda e: e.onset)
