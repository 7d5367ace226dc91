"""Split arrays: raw audio ``[N, 16000]`` and frontend features ``[N, frames, feats]``.

This is where the loader, augmentation, the shared frontend and the cache meet.
Training and evaluation call :func:`load_feature_split`; on-device accuracy
tests call :func:`load_audio_split` (the device runs its own frontend on the
same int16 audio).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgekws.data.augment import AugmentConfig, augment_batch, fit_length, make_silence
from edgekws.data.cache import cache_key, default_cache_dir, load_entry, save_entry
from edgekws.data.speech_commands import (
    SPLITS,
    DatasetConfig,
    DatasetIndex,
    Example,
    list_split,
    normalize_split,
    scan_dataset,
)
from edgekws.errors import AudioError, DatasetError

ProgressFn = Callable[[int, int], None]
"""Called as ``progress(done, total)`` while clips are read or features computed."""

_FEATURE_BATCH = 512
# Clips read per chunk: 2048 one-second clips are 128 MiB of float32 audio, so
# even the 85k-clip Speech Commands training split streams through bounded memory.
_CHUNK = 2048


def _frontend():
    # Imported lazily: the frontend is another area's module, and the loader
    # (scan/splits) must stay usable without it.
    from edgekws import frontend

    return frontend


def _resolve_frontend(frontend_cfg):
    if isinstance(frontend_cfg, str):
        return _frontend().get_preset(frontend_cfg)
    return frontend_cfg


def load_noise(index: DatasetIndex, sample_rate: int = 16000) -> list[np.ndarray]:
    """The ``_background_noise_`` recordings as float32 arrays (in file-name order)."""
    from edgekws.audio import load_audio

    noises = []
    for rel in index.noise_files:
        try:
            noises.append(load_audio(index.root / rel, sample_rate=sample_rate))
        except AudioError as exc:
            raise DatasetError(f"background noise: {exc}") from None
    return noises


def _dataset_fingerprint(index: DatasetIndex) -> list[list]:
    """Relative path, size and mtime of every file: a changed clip changes the cache key."""
    out = []
    for rel in index.file_list():
        st = (index.root / rel).stat()
        out.append([rel, st.st_size, st.st_mtime_ns])
    for name in ("validation_list.txt", "testing_list.txt"):
        p = index.root / name
        if p.is_file():
            st = p.stat()
            out.append([name, st.st_size, st.st_mtime_ns])
    return out


def _audio_chunks(
    index: DatasetIndex,
    split: str,
    examples: list[Example],
    cfg: DatasetConfig,
    *,
    augment: bool,
    augment_cfg: AugmentConfig,
    seed: int,
    chunk: int = _CHUNK,
    progress: ProgressFn | None = None,
) -> Iterator[np.ndarray]:
    """Audio of ``examples`` in ``[<=chunk, clip_samples]`` pieces, so a big split never sits in RAM whole."""
    from edgekws.audio import load_audio

    noises = load_noise(index, cfg.sample_rate)
    n = cfg.clip_samples
    split_no = SPLITS.index(split)
    total = len(examples)
    for start in range(0, total, chunk):
        part = examples[start : start + chunk]
        audio = np.zeros((len(part), n), dtype=np.float32)
        for j, ex in enumerate(part):
            if ex.path is None:
                rng = np.random.default_rng([cfg.seed, split_no, start + j])
                audio[j] = make_silence(noises, n, rng, cfg.silence_max_volume)
                continue
            try:
                audio[j] = fit_length(load_audio(index.root / ex.path, sample_rate=cfg.sample_rate), n)
            except AudioError as exc:
                # load_audio's message already names the file; keep it one line.
                raise DatasetError(str(exc)) from None
        if augment:
            is_silence = np.array([ex.path is None for ex in part], dtype=bool)
            audio = augment_batch(
                audio, is_silence, noises, augment_cfg, seed, sample_rate=cfg.sample_rate,
                silence_max_volume=cfg.silence_max_volume, start_index=start,
            )
        if progress is not None:
            progress(start + len(part), total)
        yield audio


def load_audio_split(
    root: str | Path | DatasetIndex,
    split: str,
    *,
    dataset_cfg: DatasetConfig | None = None,
    augment: bool = False,
    augment_cfg: AugmentConfig | None = None,
    seed: int = 0,
    progress: ProgressFn | None = None,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Raw audio of a split: ``(audio float32 [N, clip_samples], y int64 [N], labels)``.

    Without ``augment`` every clip is padded/cropped to the clip length and
    silence slots are deterministic noise segments (seeded by the dataset
    config), so evaluation sets are identical run to run. With ``augment`` the
    training-time time shift and background noise are applied, seeded by ``seed``.
    """
    cfg = dataset_cfg or DatasetConfig()
    split = normalize_split(split)
    index = root if isinstance(root, DatasetIndex) else scan_dataset(root)
    examples = list_split(index, split, cfg)
    y = np.array([e.label for e in examples], dtype=np.int64)
    chunks = list(_audio_chunks(index, split, examples, cfg, augment=augment,
                                augment_cfg=augment_cfg or AugmentConfig(), seed=seed, progress=progress))
    audio = np.concatenate(chunks) if chunks else np.zeros((0, cfg.clip_samples), np.float32)
    return audio, y, list(cfg.labels)


def compute_split_features(audio: np.ndarray, frontend_cfg, progress: ProgressFn | None = None) -> np.ndarray:
    """Frontend features of ``[N, n]`` audio in batches (bounded memory), float32."""
    fe = _frontend()
    cfg = _resolve_frontend(frontend_cfg)
    n = audio.shape[0]
    if n == 0:
        return np.zeros((0, cfg.num_frames(audio.shape[1]), cfg.num_features), dtype=np.float32)
    parts = []
    for start in range(0, n, _FEATURE_BATCH):
        parts.append(np.asarray(fe.compute_features(audio[start : start + _FEATURE_BATCH], cfg), np.float32))
        if progress is not None:
            progress(min(start + _FEATURE_BATCH, n), n)
    return np.concatenate(parts, axis=0)


def load_feature_split(
    root: str | Path,
    split: str,
    frontend_cfg,
    *,
    dataset_cfg: DatasetConfig | None = None,
    augment: bool = False,
    augment_cfg: AugmentConfig | None = None,
    seed: int = 0,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    progress: ProgressFn | None = None,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Features of a split: ``(x float32 [N, frames, feats], y int64 [N], labels)``.

    ``frontend_cfg`` is a ``FrontendConfig`` or a preset name. Results are
    cached under ``cache_dir`` (default :func:`default_cache_dir`) keyed by the
    frontend hash, the dataset's file list (with sizes and mtimes), the dataset
    config, the split and, when augmenting, the augmentation settings and seed.
    """
    cfg = dataset_cfg or DatasetConfig()
    split = normalize_split(split)
    fcfg = _resolve_frontend(frontend_cfg)
    if getattr(fcfg, "sample_rate", cfg.sample_rate) != cfg.sample_rate:
        raise DatasetError(
            f"frontend expects {fcfg.sample_rate} Hz but the dataset config loads {cfg.sample_rate} Hz audio"
        )
    index = scan_dataset(root)
    aug_cfg = augment_cfg or AugmentConfig()
    key = cache_key({
        "kind": "features",
        "frontend_hash": fcfg.hash(),
        "dataset": _dataset_fingerprint(index),
        "dataset_cfg": cfg.to_dict(),
        "split": split,
        "augment": aug_cfg.to_dict() if augment else None,
        "seed": seed if augment else None,
    })
    cdir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    if use_cache:
        hit = load_entry(cdir, key)
        if hit is not None:
            return hit["x"], hit["y"], [str(s) for s in hit["labels"]]
    examples = list_split(index, split, cfg)
    y = np.array([e.label for e in examples], dtype=np.int64)
    labels = list(cfg.labels)
    parts = [
        compute_split_features(audio, fcfg)
        for audio in _audio_chunks(index, split, examples, cfg, augment=augment, augment_cfg=aug_cfg,
                                   seed=seed, progress=progress)
    ]
    x = np.concatenate(parts) if parts else compute_split_features(np.zeros((0, cfg.clip_samples), np.float32), fcfg)
    if use_cache:
        try:
            save_entry(cdir, key, {"x": x, "y": y, "labels": np.array(labels)})
        except OSError as exc:
            raise DatasetError(f"cannot write feature cache in {cdir}: {exc.strerror or exc}") from None
    return x, y, labels


@dataclass(frozen=True)
class FeatureStats:
    """Shape and value range of a feature array (what `data summary` prints)."""

    shape: tuple[int, ...]
    mean: float
    std: float
    min: float
    max: float
    finite: bool


def feature_stats(x: np.ndarray) -> FeatureStats:
    """Summary statistics over all values of ``x`` (float64 accumulation)."""
    x = np.asarray(x)
    if x.size == 0:
        return FeatureStats(tuple(x.shape), 0.0, 0.0, 0.0, 0.0, True)
    xd = x.astype(np.float64)
    return FeatureStats(
        shape=tuple(int(s) for s in x.shape),
        mean=float(xd.mean()),
        std=float(xd.std()),
        min=float(xd.min()),
        max=float(xd.max()),
        finite=bool(np.isfinite(xd).all()),
    )
