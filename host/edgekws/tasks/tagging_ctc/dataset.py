"""FSDKaggle2018 layout -> single-event pools per split -> composed clips with ordered label sequences.

The real dataset (Fonseca et al. 2018, Freesound Dataset Kaggle 2018; 41 classes,
44.1 kHz mono WAVs) ships ``train.csv`` (fname,label,manually_verified) with
``audio_train/``, and ``test_post_competition_scoring_clips.csv`` (fname,label,usage)
with ``audio_test/``. Every clip has one label, so "sequentially labelled data" is
made the way the anchor papers made it: events cut from single-label clips are
concatenated in a random order, and the clip's label is that ordered sequence (no
onsets). The composer records where each event went (strong labels), which the SED
task uses and which makes the ground truth of every composed clip exact.

Splits: train.csv files are divided per class into train/validation (and test when
the test CSV is absent); the test CSV's files are the test split. A composed clip
takes its events only from its own split's files, so no event is heard in training
and in testing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgekws.errors import DatasetError
from edgekws.tasks.base import ProgressFn, no_progress
from edgekws.tasks.datasets import load_event_audio, read_csv_rows, require_dir, trim_silence
from edgekws.tasks.tagging_ctc.config import ComposeConfig

TRAIN_CSV = "train.csv"
TEST_CSV = "test_post_competition_scoring_clips.csv"
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class EventFile:
    """One single-label file of the dataset: ``rel`` is its path relative to the dataset root."""

    rel: str
    label: str
    split: str


@dataclass(frozen=True)
class DatasetIndex:
    root: Path
    classes: tuple[str, ...]
    files: tuple[EventFile, ...]
    test_from: str  # "test_csv" or "train_csv"

    def split(self, name: str) -> list[EventFile]:
        return [f for f in self.files if f.split == name]


def _rows(path: Path, folder: str) -> list[tuple[str, str]]:
    rows = read_csv_rows(path, ("fname", "label"))
    seen: set[str] = set()
    out = []
    for r in rows:
        fname = r["fname"]
        if "/" in fname or "\\" in fname or fname in (".", ".."):
            raise DatasetError(f"{path}: fname {fname!r} must be a bare file name inside {folder}/")
        if fname in seen:
            raise DatasetError(f"{path}: fname {fname} is listed twice")
        seen.add(fname)
        out.append((f"{folder}/{fname}", r["label"]))
    return out


def index_dataset(root: str | Path, cfg: ComposeConfig) -> DatasetIndex:
    """Read the layout's CSVs, check every listed WAV exists, assign splits (seeded, per class)."""
    root = require_dir(root, "dataset folder")
    train_rows = _rows(root / TRAIN_CSV, "audio_train")
    classes = tuple(sorted({label for _, label in train_rows}))
    if len(classes) < 2:
        raise DatasetError(f"{root / TRAIN_CSV}: need at least 2 classes, found {len(classes)}")
    test_rows: list[tuple[str, str]] = []
    has_test = (root / TEST_CSV).exists()
    if has_test:
        test_rows = _rows(root / TEST_CSV, "audio_test")
        unknown = sorted({label for _, label in test_rows} - set(classes))
        if unknown:
            raise DatasetError(f"{root / TEST_CSV}: label(s) {', '.join(unknown)} not in {TRAIN_CSV}")
    for rel, _ in train_rows + test_rows:
        if not (root / rel).is_file():
            raise DatasetError(f"{root / rel}: listed in the index but missing")
    rng = np.random.default_rng(cfg.seed)
    files: list[EventFile] = []
    for label in classes:
        mine = [rel for rel, lab in train_rows if lab == label]
        order = rng.permutation(len(mine))
        n_val = max(1, int(round(cfg.val_fraction * len(mine))))
        n_test = 0 if has_test else max(1, int(round(cfg.test_fraction * len(mine))))
        if len(mine) - n_val - n_test < 1:
            raise DatasetError(f"{root / TRAIN_CSV}: class {label!r} has {len(mine)} file(s), too few to split")
        for k, j in enumerate(order):
            split = "val" if k < n_val else "test" if k < n_val + n_test else "train"
            files.append(EventFile(mine[j], label, split))
    files += [EventFile(rel, lab, "test") for rel, lab in test_rows]
    for split in SPLITS:
        present = {f.label for f in files if f.split == split}
        if len(present) < 2:
            raise DatasetError(f"{root}: the {split} split has events of {len(present)} class(es); need >= 2")
    return DatasetIndex(root, classes, tuple(files), "test_csv" if has_test else "train_csv")


def load_events(index: DatasetIndex, files: list[EventFile], sample_rate: int, max_event_s: float,
                progress: ProgressFn = no_progress) -> dict[str, np.ndarray]:
    """Each file's event (non-silent span, at most ``max_event_s`` from its start) at ``sample_rate``."""
    out: dict[str, np.ndarray] = {}
    limit = int(round(max_event_s * sample_rate))
    for done, f in enumerate(files, start=1):
        x = load_event_audio(index.root / f.rel, sample_rate)
        a, b = trim_silence(x)
        out[f.rel] = x[a:b][:limit].astype(np.float32)
        progress("loading events", done, len(files))
    return out


@dataclass(frozen=True)
class Placement:
    """One event placed in a composed clip: which file, its class index, where (samples), its gain."""

    rel: str
    label: int
    onset: int
    offset: int
    gain: float


def compose(files: list[EventFile], events: dict[str, np.ndarray], classes: tuple[str, ...], n_clips: int,
            cfg: ComposeConfig, sample_rate: int, seed: int) -> list[list[Placement]]:
    """Draw ``n_clips`` event sequences (no class twice in a row) and where each event goes."""
    rng = np.random.default_rng(seed)
    by_class: dict[int, list[EventFile]] = {}
    for f in files:
        by_class.setdefault(classes.index(f.label), []).append(f)
    labels = sorted(by_class)
    clip_n = int(round(cfg.clip_seconds * sample_rate))
    clips = []
    for _ in range(n_clips):
        k = int(rng.integers(cfg.min_events, cfg.max_events + 1))
        seq: list[int] = []
        for _ in range(k):
            choices = [c for c in labels if not seq or c != seq[-1]]
            seq.append(int(rng.choice(choices)))
        chosen = [by_class[c][int(rng.integers(len(by_class[c])))] for c in seq]
        lengths = [len(events[f.rel]) for f in chosen]
        gaps = rng.uniform(cfg.gap_min_s, cfg.gap_max_s, size=k + 1) * sample_rate
        slack = clip_n - sum(lengths) - int(gaps.sum())
        # the spare time is spread at random over the gaps, so events do not always start at the clip's start
        gaps += rng.dirichlet(np.ones(k + 1)) * max(slack, 0)
        t = int(gaps[0])
        placed = []
        for i, (f, n) in enumerate(zip(chosen, lengths, strict=True)):
            gain = float(10 ** (-rng.uniform(0, cfg.gain_range_db) / 20))
            placed.append(Placement(f.rel, seq[i], t, t + n, gain))
            t += n + int(gaps[i + 1])
        if placed[-1].offset > clip_n:  # config validation keeps this impossible; a guard, not a clamp
            raise DatasetError("composed events overrun the clip (clip_seconds too short)")
        clips.append(placed)
    return clips


def render(clip: list[Placement], events: dict[str, np.ndarray], cfg: ComposeConfig, sample_rate: int,
           noise_seed: Sequence[int]) -> np.ndarray:
    """The clip's audio: background noise at ``noise_dbfs`` RMS plus each event at its place and gain."""
    n = int(round(cfg.clip_seconds * sample_rate))
    rng = np.random.default_rng(list(noise_seed))
    x = rng.standard_normal(n).astype(np.float32) * np.float32(10 ** (cfg.noise_dbfs / 20))
    for p in clip:
        x[p.onset: p.offset] += p.gain * events[p.rel]
    return np.clip(x, -1.0, 1.0)


def placements_to_json(clips: list[list[Placement]]) -> list[list[dict[str, Any]]]:
    return [[{"rel": p.rel, "label": p.label, "onset": p.onset, "offset": p.offset, "gain": p.gain} for p in c]
            for c in clips]


def placements_from_json(data: list[list[dict[str, Any]]]) -> list[list[Placement]]:
    try:
        return [[Placement(str(p["rel"]), int(p["label"]), int(p["onset"]), int(p["offset"]), float(p["gain"]))
                 for p in c] for c in data]
    except (KeyError, TypeError, ValueError) as exc:
        raise DatasetError(f"corrupt composed split in the run directory ({exc})") from None
