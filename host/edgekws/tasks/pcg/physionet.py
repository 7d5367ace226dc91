"""The PhysioNet/CinC Challenge 2016 layout -> a list of labelled records.

On disk (the challenge's training set)::

    training-a/REFERENCE.csv   a0001,-1        one line per record, no header: -1 normal, 1 abnormal
    training-a/a0001.wav       mono PCM at 2000 Hz
    ...
    training-f/...

Some copies carry a third column (the signal-quality flag of the challenge's
``REFERENCE_withSQI.csv``: ``a0001,-1,1``); it is read into ``quality`` and not
used to drop records (a task decides). A folder holding ``REFERENCE.csv`` itself
(one subset unpacked alone) is read as that one subset. Every listed record's WAV
must exist; a WAV without a REFERENCE line is not an error (the challenge's
validation folder ships such files) but is not a record either.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgekws.errors import DatasetError
from edgekws.tasks.datasets import load_event_audio, require_dir

REFERENCE = "REFERENCE.csv"
SUBSETS = tuple(f"training-{c}" for c in "abcdef")
NORMAL, ABNORMAL = -1, 1


@dataclass(frozen=True)
class PcgRecord:
    """One recording: ``record_id`` as REFERENCE.csv spells it (``a0001``), its WAV, label -1/1, subset folder."""

    record_id: str
    path: Path
    label: int
    subset: str
    quality: int | None = None

    @property
    def abnormal(self) -> bool:
        return self.label == ABNORMAL


def read_reference(path: str | Path) -> list[tuple[str, int, int | None]]:
    """``(record_id, label, quality or None)`` per line of a REFERENCE.csv; one-line DatasetError otherwise."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DatasetError(f"{p}: not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{p}: cannot read ({exc})") from None
    out: list[tuple[str, int, int | None]] = []
    seen: set[str] = set()
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = [f.strip() for f in line.split(",")]
        if len(fields) not in (2, 3) or not fields[0]:
            raise DatasetError(f"{p}:{line_no}: expected 'record,label' or 'record,label,quality', got {line!r}")
        rid = fields[0]
        if "/" in rid or "\\" in rid or rid.startswith("."):
            raise DatasetError(f"{p}:{line_no}: record name {rid!r} must be a bare file stem")
        try:
            label = int(fields[1])
            quality = int(fields[2]) if len(fields) == 3 else None
        except ValueError:
            raise DatasetError(f"{p}:{line_no}: label/quality must be integers, got {line!r}") from None
        if label not in (NORMAL, ABNORMAL):
            raise DatasetError(f"{p}:{line_no}: label must be -1 (normal) or 1 (abnormal), got {label}")
        if quality is not None and quality not in (0, 1):
            raise DatasetError(f"{p}:{line_no}: quality must be 0 or 1, got {quality}")
        if rid in seen:
            raise DatasetError(f"{p}:{line_no}: record {rid} is listed twice")
        seen.add(rid)
        out.append((rid, label, quality))
    if not out:
        raise DatasetError(f"{p}: no records")
    return out


def subset_dirs(root: str | Path) -> list[Path]:
    """The folders to read (sorted): ``[root]`` if it holds a REFERENCE.csv itself, else its ``training-a`` ...
    ``training-f`` subfolders that hold one, else every subfolder that holds one (a renamed copy)."""
    root = require_dir(root, "PhysioNet 2016 folder")
    if (root / REFERENCE).is_file():
        return [root]
    dirs = sorted(d for d in root.iterdir() if d.is_dir() and (d / REFERENCE).is_file())
    training = [d for d in dirs if d.name in SUBSETS]
    if training:
        # The challenge's validation/ folder repeats 301 training records under the same names: not a subset.
        dirs = training
    if not dirs:
        raise DatasetError(f"{root}: no {REFERENCE} in it or in any subfolder (expected the PhysioNet 2016 layout "
                           f"{SUBSETS[0]}/{REFERENCE} ... {SUBSETS[-1]}/{REFERENCE})")
    return dirs


def index_physionet(root: str | Path) -> list[PcgRecord]:
    """Every record of every subset folder, sorted by (subset, record_id); listed WAVs must exist."""
    records: list[PcgRecord] = []
    ids: dict[str, str] = {}
    for d in subset_dirs(root):
        for rid, label, quality in read_reference(d / REFERENCE):
            wav = d / f"{rid}.wav"
            if not wav.is_file():
                raise DatasetError(f"{d / REFERENCE}: record {rid} has no {wav.name} in {d}")
            if rid in ids:
                raise DatasetError(f"{d / REFERENCE}: record {rid} is also in {ids[rid]}")
            ids[rid] = d.name
            records.append(PcgRecord(rid, wav, label, d.name, quality))
    return records


def load_record(record: PcgRecord, sample_rate: int) -> np.ndarray:
    """The record's audio as float32 mono at ``sample_rate`` (resampled down if recorded higher; a lower rate,
    an empty, all-zero or unreadable file is a one-line AudioError)."""
    return load_event_audio(record.path, sample_rate)
