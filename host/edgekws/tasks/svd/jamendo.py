"""The Jamendo singing-voice corpus layout: read it (real or generated), write it, turn labels into frame targets.

Layout (Ramona et al. 2008, as the singing-voice detection literature distributes it)::

    audio/<song>.ogg            (or .wav / .flac / .mp3; one file per song)
    labels/<song>.lab           "start end sing|nosing" per line, seconds, in time order
    filelists/train|valid|test  one audio file name per line

Why a strict reader: a .lab with overlapping, unsorted or misspelt segments silently
shifts every frame target after it, and the detector then learns the mistake; so
every way a line can be wrong is one DatasetError naming the file and line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgekws.errors import DatasetError
from edgekws.frontend import FrontendConfig
from edgekws.tasks.datasets import require_dir

SPLITS = ("train", "valid", "test")
LABELS = ("sing", "nosing")
AUDIO_SUFFIXES = (".ogg", ".wav", ".flac", ".mp3")
#: Real .lab files end one segment where the next starts, up to print rounding; more overlap is an error.
OVERLAP_TOLERANCE_S = 1e-3


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    sing: bool


@dataclass(frozen=True)
class Track:
    name: str  # the audio file name as the file list gives it
    audio: Path
    segments: tuple[Segment, ...]

    def vocal_seconds(self) -> float:
        return float(sum(s.end - s.start for s in self.segments if s.sing))


def read_lab(path: str | Path) -> tuple[Segment, ...]:
    """Segments of a .lab file; one-line DatasetError (file:line) for any malformed or out-of-order line."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DatasetError(f"{p}: label file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{p}: cannot read ({exc})") from None
    segs: list[Segment] = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 3:
            raise DatasetError(f"{p}:{line_no}: expected 'start end sing|nosing', got {line.strip()!r}")
        try:
            start, end = float(fields[0]), float(fields[1])
        except ValueError:
            raise DatasetError(f"{p}:{line_no}: start/end are not numbers: {line.strip()!r}") from None
        if not (np.isfinite(start) and np.isfinite(end)) or start < 0 or end <= start:
            raise DatasetError(f"{p}:{line_no}: need 0 <= start < end, got {start} {end}")
        if fields[2] not in LABELS:
            raise DatasetError(f"{p}:{line_no}: label {fields[2]!r} is not one of {', '.join(LABELS)}")
        if segs and start < segs[-1].end - OVERLAP_TOLERANCE_S:
            raise DatasetError(f"{p}:{line_no}: segment starts at {start} before the previous one ends "
                               f"({segs[-1].end}); segments must be in time order without overlap")
        segs.append(Segment(start, end, fields[2] == "sing"))
    if not segs:
        raise DatasetError(f"{p}: no segments")
    return tuple(segs)


def write_lab(path: str | Path, segments: list[Segment] | tuple[Segment, ...]) -> Path:
    """Write segments as Jamendo does: ``start end label`` per line (the generator's ground truth)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text("".join(f"{s.start:.4f} {s.end:.4f} {'sing' if s.sing else 'nosing'}\n" for s in segments),
                 encoding="utf-8")
    return p


def segments_from_mask(mask: np.ndarray, sample_rate: int) -> list[Segment]:
    """Alternating sing/nosing segments covering a sample-wise voice mask from 0 to its end."""
    m = np.asarray(mask, bool)
    if m.size == 0:
        return []
    edges = np.flatnonzero(np.diff(m.astype(np.int8))) + 1
    bounds = [0, *edges.tolist(), m.size]
    return [Segment(a / sample_rate, b / sample_rate, bool(m[a])) for a, b in zip(bounds, bounds[1:], strict=False)]


def read_filelist(root: Path, split: str) -> list[str]:
    p = root / "filelists" / split
    if not p.is_file():
        raise DatasetError(f"{p}: file list not found (Jamendo layout: filelists/{'|'.join(SPLITS)})")
    names = [ln.strip() for ln in p.read_text(encoding="utf-8").splitlines() if ln.strip()]
    if not names:
        raise DatasetError(f"{p}: empty file list")
    return names


def load_split(root: str | Path, split: str) -> list[Track]:
    """Every track of one split, its audio file checked present and its .lab read."""
    if split not in SPLITS:
        raise DatasetError(f"unknown split {split!r}; valid: {', '.join(SPLITS)}")
    r = require_dir(root, "Jamendo-layout folder")
    tracks = []
    for name in read_filelist(r, split):
        audio = r / "audio" / name
        if Path(name).suffix.lower() not in AUDIO_SUFFIXES:
            raise DatasetError(f"{r / 'filelists' / split}: {name!r} is not an audio file name "
                               f"({', '.join(AUDIO_SUFFIXES)})")
        if not audio.is_file():
            raise DatasetError(f"{audio}: listed in filelists/{split} but missing")
        tracks.append(Track(name, audio, read_lab(r / "labels" / f"{Path(name).stem}.lab")))
    return tracks


def frame_times(n_frames: int, frontend: FrontendConfig) -> np.ndarray:
    """Centre time (s) of each frontend frame: frame ``i`` covers samples ``[i*hop, i*hop + win)``."""
    return (np.arange(n_frames) * frontend.hop_length + frontend.win_length / 2) / frontend.sample_rate


def frame_labels(segments: tuple[Segment, ...] | list[Segment], n_frames: int,
                 frontend: FrontendConfig) -> np.ndarray:
    """1 for a frame whose centre lies in a ``sing`` segment, else 0 (time not covered counts as no voice)."""
    t = frame_times(n_frames, frontend)
    y = np.zeros(n_frames, np.float32)
    for s in segments:
        if s.sing:
            y[(t >= s.start) & (t < s.end)] = 1.0
    return y
