"""Annotated records of a PCG dataset folder, split by subject into test and nested training subsets.

Reads the shared PCG layout (:mod:`edgekws.tasks.pcg`): the PhysioNet 2016
folders with a CirCor-style ``.tsv`` beside each WAV. Records without a ``.tsv``
carry no segmentation truth and are left out (said in the summary). A *subject*
is the part of the record id before the first ``_`` (CirCor names recordings
``<patient>_<location>``); PhysioNet 2016 ids have none, so each record is its own
subject there. Splitting by subject keeps one heart out of both sides.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgekws.errors import DatasetError
from edgekws.tasks.pcg import annotations as ann
from edgekws.tasks.pcg.physionet import PcgRecord, index_physionet


@dataclass(frozen=True)
class SegRecord:
    record: PcgRecord
    tsv: Path

    @property
    def subject(self) -> str:
        return self.record.record_id.split("_", 1)[0]


def index_annotated(root: Path) -> tuple[list[SegRecord], int]:
    """Records that have a ``.tsv``, and how many were left out for lacking one."""
    recs = index_physionet(root)
    out = [SegRecord(r, r.path.with_suffix(".tsv")) for r in recs if r.path.with_suffix(".tsv").is_file()]
    if not out:
        raise DatasetError(f"{root}: no record has a .tsv state annotation beside its WAV (needed for segmentation)")
    return out, len(recs) - len(out)


@dataclass(frozen=True)
class Split:
    test: list[str]  # subjects
    train_order: list[str]  # training subjects in the order subsets take them (p % = the first p %)

    def train_subjects(self, percent: int) -> list[str]:
        n = max(2, int(round(len(self.train_order) * percent / 100)))
        return self.train_order[:n]


def split_subjects(subjects: list[str], test_fraction: float, seed: int) -> Split:
    """Seeded subject split; a subset of p % is a prefix of one permutation, so the subsets are nested."""
    uniq = sorted(set(subjects))
    if len(uniq) < 4:
        raise DatasetError(f"need at least 4 annotated subjects to split test/train/validation, got {len(uniq)}")
    perm = [uniq[i] for i in np.random.default_rng(seed).permutation(len(uniq))]
    n_test = min(len(uniq) - 3, max(1, int(round(len(uniq) * test_fraction))))
    return Split(test=sorted(perm[:n_test]), train_order=perm[n_test:])


def load_states(rec: SegRecord, n_frames: int, frontend) -> np.ndarray:  # noqa: ANN001 (FrontendConfig)
    """Per-frame state codes (0 unannotated, 1..4) of a record; an order violation in its .tsv is a DatasetError."""
    segs = ann.read_tsv(rec.tsv)
    bad = ann.order_violations(segs)
    if bad:
        raise DatasetError(f"{rec.tsv}: {bad[0]}")
    return ann.frontend_frame_states(segs, n_frames, frontend).astype(np.int64)
