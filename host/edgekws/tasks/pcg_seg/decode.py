"""Order- and duration-constrained decoding: S1 -> systole -> S2 -> diastole -> S1, each state within its durations.

Why a decoder after the network: a per-frame argmax happily produces a
two-frame "S2" inside systole or skips a state; the heart cannot. This is the
hidden semi-Markov model of Springer et al. (2016) written as an *expanded-state*
HMM: state ``(k, d)`` means "in cardiac state k for d frames so far". From
``(k, d)`` the path either stays (``d+1 <= dmax_k``) or, once ``d >= dmin_k``,
enters ``(next(k), 1)``; no other move exists, so the order and the minimum and
maximum durations hold by construction. The recording starts and ends mid-cycle,
so the first segment may start at any elapsed duration and the last may stop at
any; only the segments in between are held to ``dmin``.

Viterbi costs ``O(T * sum(dmax))`` additions; per frame it is four shifted vectors
and one max over each state's exit region, and a back-pointer only on state entries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Cardiac states in cycle order as the decoder indexes them (0..3) and their annotation codes (1..4).
CYCLE = (1, 2, 3, 4)
NAMES = ("S1", "systole", "S2", "diastole")


@dataclass(frozen=True)
class Durations:
    """Minimum and maximum duration (frames) of S1, systole, S2, diastole."""

    dmin: tuple[int, int, int, int]
    dmax: tuple[int, int, int, int]

    def __post_init__(self) -> None:
        if len(self.dmin) != 4 or len(self.dmax) != 4:
            raise ValueError("durations need four states")
        for lo, hi in zip(self.dmin, self.dmax, strict=True):
            if not 1 <= lo <= hi:
                raise ValueError(f"need 1 <= dmin <= dmax, got {lo}, {hi}")

    def to_dict(self) -> dict[str, list[int]]:
        return {"dmin": list(self.dmin), "dmax": list(self.dmax)}

    @classmethod
    def from_dict(cls, d: dict[str, list[int]]) -> Durations:
        return cls(tuple(int(v) for v in d["dmin"]), tuple(int(v) for v in d["dmax"]))  # type: ignore[arg-type]


def runs(states: np.ndarray) -> list[tuple[int, int, int]]:
    """``(state, start, length)`` of each run of equal values."""
    s = np.asarray(states)
    if len(s) == 0:
        return []
    cut = np.flatnonzero(np.diff(s) != 0) + 1
    starts = np.concatenate([[0], cut])
    ends = np.concatenate([cut, [len(s)]])
    return [(int(s[a]), int(a), int(b - a)) for a, b in zip(starts, ends, strict=True)]


def durations_from_annotations(sequences: list[np.ndarray], margin: float = 0.2, q: float = 1.0) -> Durations:
    """Durations from annotated frame sequences (codes 1..4): the ``q``/``100-q`` percentiles of complete segments,
    widened by ``margin``. Segments touching the record's ends or an unannotated frame are cut, so not counted."""
    lengths: list[list[int]] = [[], [], [], []]
    for seq in sequences:
        rr = runs(seq)
        for i, (st, _, n) in enumerate(rr):
            if st in CYCLE and 0 < i < len(rr) - 1 and rr[i - 1][0] in CYCLE and rr[i + 1][0] in CYCLE:
                lengths[CYCLE.index(st)].append(n)
    if any(not v for v in lengths):
        raise ValueError("annotations hold no complete segment of some state")
    lo = tuple(max(1, int(np.floor(np.percentile(v, q) * (1 - margin)))) for v in lengths)
    hi = tuple(max(lo[k], int(np.ceil(np.percentile(v, 100 - q) * (1 + margin)))) for k, v in enumerate(lengths))
    return Durations(lo, hi)  # type: ignore[arg-type]


def viterbi(log_emission: np.ndarray, dur: Durations) -> np.ndarray:
    """Most likely state-code sequence (1..4 per frame) under the cycle and the durations.

    ``log_emission [T, 4]``: per-frame log scores of S1, systole, S2, diastole (for a
    network: log posterior minus log prior, the hybrid "scaled likelihood").
    """
    e = np.asarray(log_emission, dtype=np.float64)
    t_len = e.shape[0]
    if t_len == 0:
        return np.zeros(0, dtype=np.int64)
    dmin, dmax = dur.dmin, dur.dmax
    # delta[k][d-1]: best score of a path in state k for d frames at the current frame.
    delta = [np.full(dmax[k], e[0, k]) for k in range(4)]
    entry_from = np.zeros((t_len, 4), dtype=np.int64)  # at entry of k at t: previous state's duration
    for t in range(1, t_len):
        new = []
        for k in range(4):
            p = (k - 1) % 4
            exit_region = delta[p][dmin[p] - 1:]
            j = int(np.argmax(exit_region))
            d = np.empty(dmax[k])
            d[0] = exit_region[j]
            d[1:] = delta[k][:-1]
            entry_from[t, k] = j + dmin[p]
            new.append(d + e[t, k])
        delta = new
    # Any state and elapsed duration may end the recording.
    k = int(np.argmax([dl.max() for dl in delta]))
    d = int(np.argmax(delta[k])) + 1
    out = np.empty(t_len, dtype=np.int64)
    t = t_len - 1
    while t >= 0:
        start = t - d + 1
        lo = max(start, 0)
        out[lo:t + 1] = CYCLE[k]
        if start <= 0:
            break
        d = int(entry_from[start, k])
        k = (k - 1) % 4
        t = start - 1
    return out


def violations(states: np.ndarray, dur: Durations | None = None) -> list[str]:
    """What in a decoded sequence breaks the cycle order or (interior segments only) the durations."""
    rr = runs(states)
    out = []
    for i, (st, start, n) in enumerate(rr):
        if st not in CYCLE:
            out.append(f"frame {start}: state {st} is not a cardiac state")
            continue
        if i > 0 and rr[i - 1][0] in CYCLE and CYCLE.index(st) != (CYCLE.index(rr[i - 1][0]) + 1) % 4:
            out.append(f"frame {start}: {NAMES[CYCLE.index(rr[i - 1][0])]} -> {NAMES[CYCLE.index(st)]}")
        if dur is not None:
            k = CYCLE.index(st)
            if n > dur.dmax[k] or (0 < i < len(rr) - 1 and n < dur.dmin[k]):
                out.append(f"frame {start}: {NAMES[k]} lasts {n} frames, outside [{dur.dmin[k]}, {dur.dmax[k]}]")
    return out
