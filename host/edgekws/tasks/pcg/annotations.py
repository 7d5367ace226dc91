"""Heart-cycle state annotations in the CirCor DigiScope ``.tsv`` layout <-> per-frame state arrays.

A ``.tsv`` beside each recording, one segment per line, tab-separated, no header::

    0.000000	0.412000	0
    0.412000	0.530000	1
    0.530000	0.802000	2

``start`` and ``end`` in seconds; ``state`` 0 = unannotated, 1 = S1, 2 = systole,
3 = S2, 4 = diastole. Segments are sorted and do not overlap (touching is the rule).
A model works on frames, so :func:`frame_states` samples the segments at frame
times and :func:`segments_from_states` turns a per-frame sequence back into
segments; the two are inverse on frame-aligned segments (the round trip the
tests check).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgekws.errors import DatasetError
from edgekws.frontend import FrontendConfig

UNANNOTATED, S1, SYSTOLE, S2, DIASTOLE = 0, 1, 2, 3, 4
STATE_NAMES = {UNANNOTATED: "unannotated", S1: "S1", SYSTOLE: "systole", S2: "S2", DIASTOLE: "diastole"}
#: The state that must follow each annotated state in a heart cycle.
NEXT_STATE = {S1: SYSTOLE, SYSTOLE: S2, S2: DIASTOLE, DIASTOLE: S1}


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    state: int


def read_tsv(path: str | Path) -> list[Segment]:
    """The segments of a CirCor-style ``.tsv``; a malformed, unsorted or overlapping line is a one-line DatasetError."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DatasetError(f"{p}: annotation file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{p}: cannot read ({exc})") from None
    segs: list[Segment] = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t") if "\t" in line else line.split()
        if len(fields) != 3:
            raise DatasetError(f"{p}:{line_no}: expected 'start<TAB>end<TAB>state', got {line!r}")
        try:
            start, end, state_f = float(fields[0]), float(fields[1]), float(fields[2])
        except ValueError:
            raise DatasetError(f"{p}:{line_no}: start/end/state must be numbers, got {line!r}") from None
        if not (math.isfinite(start) and math.isfinite(end)) or start < 0 or end <= start:
            raise DatasetError(f"{p}:{line_no}: need 0 <= start < end, got {start:g} .. {end:g}")
        if state_f not in STATE_NAMES:
            raise DatasetError(f"{p}:{line_no}: state must be one of 0-4 "
                               f"({', '.join(f'{k} {v}' for k, v in STATE_NAMES.items())}), got {fields[2]!r}")
        if segs and start < segs[-1].end - 1e-9:
            raise DatasetError(f"{p}:{line_no}: segment {start:g} .. {end:g} starts before the previous one ends "
                               f"({segs[-1].end:g})")
        segs.append(Segment(start, end, int(state_f)))
    if not segs:
        raise DatasetError(f"{p}: no segments")
    return segs


def write_tsv(path: str | Path, segments: list[Segment]) -> Path:
    """Write segments in the CirCor layout (6 decimals, as CirCor's files), atomically."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(f"{s.start:.6f}\t{s.end:.6f}\t{int(s.state)}\n" for s in segments)
    tmp = p.with_name(f".{p.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, p)
    return p


def frame_states(segments: list[Segment], n_frames: int, hop_s: float, offset_s: float = 0.0) -> np.ndarray:
    """``int8 [n_frames]``: the state at time ``offset_s + i * hop_s`` of frame ``i`` (0 outside every segment).

    Why a point sample rather than a majority over the frame: it is exact and
    cheap, and at 50 frames/s the shortest state (S2, ~90 ms) spans 4+ frames.
    A segment owns ``[start, end)``, so a boundary time goes to the later segment.
    """
    if hop_s <= 0 or n_frames < 0:
        raise ValueError("hop_s must be > 0 and n_frames >= 0")
    t = offset_s + np.arange(n_frames) * hop_s
    out = np.zeros(n_frames, np.int8)
    for s in segments:
        out[(t >= s.start - 1e-9) & (t < s.end - 1e-9)] = s.state
    return out


def frontend_frame_states(segments: list[Segment], n_frames: int, cfg: FrontendConfig) -> np.ndarray:
    """States of the frontend's frames, each sampled at its window's centre (frame i spans ``i*hop .. i*hop+win``)."""
    sr = cfg.sample_rate
    return frame_states(segments, n_frames, cfg.hop_length / sr, cfg.win_length / (2 * sr))


def segments_from_states(states: np.ndarray, hop_s: float, offset_s: float = 0.0) -> list[Segment]:
    """Run-length segments of a per-frame state sequence; frame ``i`` spans ``offset + i*hop .. offset + (i+1)*hop``."""
    s = np.asarray(states).astype(int)
    if s.size == 0:
        return []
    cuts = np.flatnonzero(np.diff(s)) + 1
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [s.size]])
    return [Segment(offset_s + a * hop_s, offset_s + b * hop_s, int(s[a])) for a, b in zip(starts, ends, strict=True)]


def order_violations(segments: list[Segment]) -> list[str]:
    """Where consecutive annotated segments break the cycle S1 -> systole -> S2 -> diastole -> S1 (empty if none).

    An unannotated gap resets the check (CirCor leaves noisy stretches at 0), so
    only directly adjacent annotated neighbours are compared; a gap in time
    between two annotated segments is a violation too (states must tile the cycle).
    """
    out: list[str] = []
    for a, b in zip(segments, segments[1:], strict=False):
        if a.state == UNANNOTATED or b.state == UNANNOTATED:
            continue
        if b.state != NEXT_STATE[a.state]:
            out.append(f"{STATE_NAMES[a.state]} at {a.start:.3f} s is followed by {STATE_NAMES[b.state]}")
        elif abs(b.start - a.end) > 1e-6:
            out.append(f"gap of {b.start - a.end:.3f} s after {STATE_NAMES[a.state]} at {a.start:.3f} s")
    return out
