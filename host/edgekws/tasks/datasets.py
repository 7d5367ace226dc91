"""Reading a task dataset's files with one-line errors: CSV index tables and event audio.

Why shared: every task's real dataset is "a CSV index + a folder of WAVs" in some
layout (FSDKaggle2018, DCASE meta.csv, ...). The ways such a folder goes wrong are
the same everywhere (missing folder, missing or misspelt column, an empty field, a
listed file that is not there, audio at a rate too low for the frontend, empty or
NaN audio), so they are checked once here and each says what and where in one line.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from edgekws.audio import load_audio
from edgekws.errors import AudioError, DatasetError


def require_dir(path: str | Path, what: str) -> Path:
    """``path`` as a Path, or DatasetError when it is not an existing directory."""
    p = Path(path)
    if not p.exists():
        raise DatasetError(f"{what} {p} does not exist")
    if not p.is_dir():
        raise DatasetError(f"{what} {p} is not a directory")
    return p


def read_csv_rows(path: str | Path, required: Sequence[str], delimiter: str = ",") -> list[dict[str, str]]:
    """Rows of a CSV with a header; every ``required`` column present and non-empty in every row.

    ``delimiter``: the DCASE layouts (meta.csv, split CSVs) separate fields by tabs.

    Extra columns are kept (FSDKaggle2018's ``manually_verified``, ``usage``); a row
    with too many or too few fields is an error naming its line, as is a file
    without any data row.
    """
    p = Path(path)
    if not p.is_file():
        raise DatasetError(f"{p}: index file not found")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{p}: cannot read ({exc})") from None
    reader = csv.reader(text.splitlines(), delimiter=delimiter)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise DatasetError(f"{p}: empty file (expected a header with {', '.join(required)})") from None
    except csv.Error as exc:
        raise DatasetError(f"{p}: malformed CSV header ({exc})") from None
    missing = [c for c in required if c not in header]
    if missing:
        raise DatasetError(f"{p}: missing column(s) {', '.join(missing)} (header: {', '.join(header)})")
    rows: list[dict[str, str]] = []
    try:
        for line_no, fields in enumerate(reader, start=2):
            if not fields or all(not f.strip() for f in fields):
                continue
            if len(fields) != len(header):
                raise DatasetError(f"{p}:{line_no}: {len(fields)} field(s), header has {len(header)}")
            row = {h: f.strip() for h, f in zip(header, fields, strict=True)}
            empty = [c for c in required if not row[c]]
            if empty:
                raise DatasetError(f"{p}:{line_no}: empty {', '.join(empty)}")
            rows.append(row)
    except csv.Error as exc:
        raise DatasetError(f"{p}: malformed CSV ({exc})") from None
    if not rows:
        raise DatasetError(f"{p}: no data rows")
    return rows


def audio_sample_rate(path: str | Path) -> int:
    """The file's own sample rate (header only), or AudioError naming the file."""
    import soundfile as sf

    p = Path(path)
    if not p.is_file():
        raise AudioError(f"{p}: no such audio file")
    try:
        return int(sf.info(str(p)).samplerate)
    except (RuntimeError, OSError, ValueError, TypeError, EOFError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise AudioError(f"{p}: cannot read audio ({first})") from None


def load_event_audio(path: str | Path, sample_rate: int) -> np.ndarray:
    """One clip as float32 mono at ``sample_rate``, refusing files recorded below that rate.

    Why refuse rather than upsample: a file at 8 kHz has nothing above 4 kHz, so its
    log-mel bands up to the frontend's ``fmax`` would be empty and the model would
    learn the recording rate instead of the sound. Higher rates (FSDKaggle2018 is
    44.1 kHz) are resampled down. Empty, unreadable and NaN/Inf audio are
    :class:`AudioError` (from :func:`edgekws.audio.load_audio`); so is an all-zero clip,
    which carries no event at all.
    """
    rate = audio_sample_rate(path)
    if rate < sample_rate:
        raise AudioError(f"{path}: sample rate {rate} Hz is below the {sample_rate} Hz the frontend needs")
    x = load_audio(path, sample_rate=sample_rate)
    if not np.any(x):
        raise AudioError(f"{path}: audio is all zeros (no event)")
    return x


def trim_silence(x: np.ndarray, threshold: float = 1e-3) -> tuple[int, int]:
    """``(start, stop)`` of the span from the first to the last sample above ``threshold`` x peak.

    Used to cut an event out of a clip with leading/trailing silence (FSDKaggle2018
    clips have some; the generator writes zero padding). The relative threshold
    (-60 dB under the peak) also drops the resampler's ringing into the padding.
    """
    a = np.abs(np.asarray(x))
    peak = float(a.max()) if a.size else 0.0
    if peak <= 0.0:
        return 0, 0
    idx = np.flatnonzero(a > threshold * peak)
    return int(idx[0]), int(idx[-1]) + 1
