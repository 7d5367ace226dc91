"""Records -> standardised fixed-length log-mel windows, and the record split of the anomaly task.

Why windows of a fixed length: a dense VAE needs a fixed input, and PhysioNet
records last 5-120 s. Windows overlap by half so a heart cycle cut at one window's
edge is whole in the next; a record's score is the mean over its windows.
"""

from __future__ import annotations

import numpy as np

from edgekws.errors import DatasetError
from edgekws.frontend import FrontendConfig, compute_features
from edgekws.tasks.base import ProgressFn, no_progress
from edgekws.tasks.norm import Norm
from edgekws.tasks.pcg.physionet import PcgRecord, load_record


def record_features(records: list[PcgRecord], frontend: FrontendConfig, what: str,
                    progress: ProgressFn = no_progress) -> list[np.ndarray]:
    """Log-mel (dB) ``[frames, bands]`` of every record at the frontend's rate."""
    out = []
    for i, r in enumerate(records):
        out.append(compute_features(load_record(r, frontend.sample_rate), frontend).astype(np.float32))
        progress(f"features ({what})", i + 1, len(records))
    return out


def windows(feats: np.ndarray, frames: int, hop: int, record_id: str = "record") -> np.ndarray:
    """``[n_windows, frames, bands]`` every ``hop`` frames; a record shorter than one window is a DatasetError."""
    if len(feats) < frames:
        raise DatasetError(f"{record_id}: {len(feats)} frames, shorter than one {frames}-frame window")
    starts = range(0, len(feats) - frames + 1, hop)
    return np.stack([feats[s:s + frames] for s in starts]).astype(np.float32)


def standardise(norm: Norm, w: np.ndarray) -> np.ndarray:
    """Windows ``[n, frames, bands]`` standardised per band (the shared :class:`edgekws.tasks.norm.Norm`),
    flattened to ``[n, frames * bands]`` for the dense VAE."""
    return norm(w).reshape(len(w), -1)


def split_records(records: list[PcgRecord], test_fraction: float, val_fraction: float,
                  seed: int) -> dict[str, list[PcgRecord]]:
    """``train``/``val`` (normal only) and ``test`` (the held-out normals + every abnormal record), by the seed."""
    normal = [r for r in records if not r.abnormal]
    abnormal = [r for r in records if r.abnormal]
    order = np.random.default_rng([seed, 17]).permutation(len(normal))
    n_test = max(1, int(round(test_fraction * len(normal))))
    n_val = max(1, int(round(val_fraction * len(normal))))
    if len(normal) < n_test + n_val + 1 or not abnormal:
        raise DatasetError(f"need at least {n_test + n_val + 1} normal and 1 abnormal record for a "
                           f"train/validation/test split, found {len(normal)} normal and {len(abnormal)} abnormal")
    pick = [normal[i] for i in order]
    return {"test": sorted(pick[:n_test] + abnormal, key=lambda r: (r.subset, r.record_id)),
            "val": sorted(pick[n_test:n_test + n_val], key=lambda r: (r.subset, r.record_id)),
            "train": sorted(pick[n_test + n_val:], key=lambda r: (r.subset, r.record_id))}
