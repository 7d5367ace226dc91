"""Real one-shot recordings written into the FSDKaggle2018 layout, split into train/test by source.

Why: the tasks' loader (:mod:`.dataset`) reads FSDKaggle2018's layout and composes the
sequences itself; writing real one-shots (the CC0 Sonic Pi samples,
:mod:`edgekws.data.sonic_pi_samples`) into that layout lets tagging-ctc and sed-ctc run on real
events with the code the generated data uses: the same composer, the same exact ordered labels
and strong labels (where each event was placed). The events are real recordings; the mixtures
(order, gaps, gains, background noise) are composed, as the anchor papers composed theirs.

No test sound is heard in training: each class's sources are split into train and test
*groups* before anything is composed. Test groups go to ``audio_test/`` and the test CSV (the
loader takes its test split from there alone); train groups to ``audio_train/`` and
``train.csv`` (the loader splits those into train/validation). A group is one file, or the
velocity pair of one instrument (``*_hard``/``*_soft`` are two hits of the same drum), so a
drum's soft hit is never a test clip while its hard hit trains.

Written beside the layout: ``real_sources.json`` (per written file: source path, source
sha256, class, group, split), the provenance a reader needs to trust the split.
"""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgekws.audio import load_audio, write_wav
from edgekws.errors import ConfigError, DatasetError
from edgekws.tasks.base import ProgressFn, no_progress
from edgekws.tasks.tagging_ctc.synth import write_index

SOURCES = "real_sources.json"
RATE = 44100  # FSDKaggle2018's rate; every Sonic Pi sample used is 44.1 kHz already


@dataclass(frozen=True)
class RealLayoutConfig:
    """How the real one-shots are split: ``test_fraction`` of each class's source groups (>= 1) are test."""

    test_fraction: float = 0.3
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.test_fraction < 1:
            raise ConfigError(f"test_fraction must lie in (0, 1), got {self.test_fraction}")


def data_name(metrics: Mapping[str, Any]) -> str:
    """How a report names the data it was measured on: generated, real one-shots composed here, or a dataset.

    Why: a reader must not take a figure on composed mixtures of real one-shots for one on real scenes,
    nor one on generated events for a real figure; ``evaluate`` records which it was.
    """
    if metrics.get("generated"):
        return f"generated data ({metrics['data']}, synthetic events in the FSDKaggle2018 layout)"
    if metrics.get("real_one_shots"):
        return (f"real one-shot recordings ({metrics['data']}, written by tools/real_events_layout.py, split into "
                "train/test by source): the events are real, the mixtures are composed here")
    return f"the dataset at {metrics['data']} (FSDKaggle2018 layout)"


def source_group(path: Path) -> str:
    """The recording a file belongs to: its stem without a ``_hard``/``_soft`` velocity suffix."""
    return re.sub(r"_(hard|soft)$", "", path.stem)


def split_sources(sources: Mapping[str, Sequence[Path]], cfg: RealLayoutConfig) -> dict[str, dict[str, list[Path]]]:
    """class -> {"train": [...], "test": [...]}, whole groups to one side, seeded per class."""
    out: dict[str, dict[str, list[Path]]] = {}
    for label in sorted(sources):
        groups: dict[str, list[Path]] = {}
        for p in sorted(Path(s) for s in sources[label]):
            groups.setdefault(source_group(p), []).append(p)
        names = sorted(groups)
        # the loader needs >= 2 train.csv files per class (train + validation) and >= 1 test file
        if len(names) < 2 or sum(len(g) for g in groups.values()) < 3:
            raise DatasetError(f"class {label!r}: {len(names)} source group(s) / "
                               f"{sum(len(g) for g in groups.values())} file(s); need >= 2 groups and >= 3 files")
        rng = np.random.default_rng([cfg.seed, zlib.crc32(label.encode())])
        order = [names[i] for i in rng.permutation(len(names))]
        n_test = max(1, int(round(cfg.test_fraction * len(names))))
        while n_test > 1 and sum(len(groups[g]) for g in order[n_test:]) < 2:
            n_test -= 1
        test = [p for g in order[:n_test] for p in groups[g]]
        train = [p for g in order[n_test:] for p in groups[g]]
        if len(train) < 2:
            raise DatasetError(f"class {label!r}: too few files to leave 2 for training after the test split")
        out[label] = {"train": train, "test": test}
    return out


def write_layout(out: Path, sources: Mapping[str, Sequence[Path]], cfg: RealLayoutConfig,
                 progress: ProgressFn = no_progress, licence: str = "") -> dict[str, Any]:
    """Write every source as a 16-bit mono WAV at 44.1 kHz into the FSDKaggle2018 layout under ``out``."""
    out = Path(out)
    if len(sources) < 2:
        raise DatasetError(f"need at least 2 classes of real sources, got {len(sources)}")
    split = split_sources(sources, cfg)
    rows: dict[str, list[str]] = {"train": [], "test": []}
    info: dict[str, Any] = {}
    jobs = [(label, side, p) for label in split for side in ("train", "test") for p in split[label][side]]
    names: set[str] = set()
    for done, (label, side, p) in enumerate(jobs, start=1):
        fname = f"{p.stem}.wav"
        if fname in names:
            raise DatasetError(f"{p}: two sources share the name {fname}")
        names.add(fname)
        folder = "audio_train" if side == "train" else "audio_test"
        write_wav(out / folder / fname, load_audio(p, sample_rate=RATE), RATE)
        rows[side].append(f"{fname},{label},{1 if side == 'train' else 'Public'}")
        info[f"{folder}/{fname}"] = {"source": str(p), "source_sha256": hashlib.sha256(p.read_bytes()).hexdigest(),
                                     "label": label, "group": source_group(p), "split": side}
        progress("writing real one-shots", done, len(jobs))
    write_index(out, rows["train"], rows["test"])
    summary = {"classes": sorted(split), "train_files": len(rows["train"]), "test_files": len(rows["test"]),
               "test_fraction": cfg.test_fraction, "seed": cfg.seed, "licence": licence}
    (out / SOURCES).write_text(json.dumps({"summary": summary, "files": info}, indent=1) + "\n")
    return summary
