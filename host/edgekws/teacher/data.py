"""Labelled audio for the teacher: every clip of a folder, and the synthetic training splits.

Why a loader of its own for evaluation: a development or test folder (``real_kws_dev``, the
official test archive) must be scored on *every* clip it holds, not on the subset the training
split rules would sample (unknown/silence percentages); the label comes from the folder name
(keyword -> itself, ``_silence_`` -> silence, any other word -> unknown).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgekws.data.speech_commands import BACKGROUND_NOISE_DIR, KEYWORDS, LABELS, SILENCE_LABEL, UNKNOWN_LABEL
from edgekws.errors import AudioError, DatasetError

CLIP_SAMPLES = 16000


def label_of_folder(name: str) -> int:
    """Class index in :data:`LABELS` order for a Speech Commands word folder."""
    if name in KEYWORDS:
        return LABELS.index(name)
    if name == SILENCE_LABEL:
        return LABELS.index(SILENCE_LABEL)
    return LABELS.index(UNKNOWN_LABEL)


def load_labelled_folder(root: str | Path, limit: int | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """All clips under ``root/<word>/*.wav``: ``(audio [N, 16000] float32, y [N], relative paths)``.

    Background-noise recordings are not clips and are skipped. Clips are padded/cropped to 1 s
    (centred crop, as the dataset's clips are at most 1 s this rarely bites).
    """
    from edgekws.audio import load_audio
    from edgekws.data.augment import fit_length

    base = Path(root)
    if not base.is_dir():
        raise DatasetError(f"dataset folder {base} does not exist")
    paths = sorted(p for p in base.glob("*/*.wav") if p.parent.name != BACKGROUND_NOISE_DIR)
    if limit is not None:
        paths = paths[:limit]
    if not paths:
        raise DatasetError(f"{base} holds no <word>/*.wav clips")
    audio = np.zeros((len(paths), CLIP_SAMPLES), np.float32)
    y = np.zeros(len(paths), np.int64)
    for i, p in enumerate(paths):
        try:
            audio[i] = fit_length(load_audio(p, sample_rate=16000), CLIP_SAMPLES)
        except AudioError as exc:
            raise DatasetError(str(exc)) from None
        y[i] = label_of_folder(p.parent.name)
    return audio, y, [str(p.relative_to(base)) for p in paths]


def load_noise_folder(folder: str | Path | None) -> list[np.ndarray]:
    """Every ``*.wav`` of a background-noise folder (training augmentation only); [] for None."""
    from edgekws.audio import load_audio

    if folder is None:
        return []
    d = Path(folder)
    if not d.is_dir():
        raise DatasetError(f"noise folder {d} does not exist")
    out = []
    for p in sorted(d.glob("*.wav")):
        try:
            out.append(load_audio(p, sample_rate=16000))
        except AudioError as exc:
            raise DatasetError(f"noise: {exc}") from None
    return out


def load_synthetic_splits(root: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Training and validation audio of a synthetic dataset, by the project's split rules.

    The dataset's own ``_background_noise_`` files supply the silence clips (as in training).
    """
    from edgekws.data.features import load_audio_split

    out = {}
    for split in ("training", "validation"):
        audio, y, labels = load_audio_split(root, split)
        if tuple(labels) != LABELS:
            raise DatasetError(f"{root}: labels {labels} differ from {LABELS}")
        out[split] = (audio, y)
    return out
