"""Waveform augmentation for keyword clips: time shift, background noise, silence clips.

These are the augmentations of the TensorFlow ``speech_commands`` recipe (and
of Arm's Hello Edge training), applied to raw 16 kHz audio before the frontend:

* a random time shift of up to ``time_shift_ms`` either way (zero padded), so
  the model does not rely on the word starting at a fixed frame;
* with probability ``background_frequency`` a random 1 s segment of a random
  ``_background_noise_`` file mixed in at a gain drawn from
  ``[0, background_volume]``;
* ``_silence_`` examples are segments of the noise files at a gain drawn from
  ``[0, silence_max_volume]`` (pure zeros when the dataset has no noise files).

Every function takes a numpy ``Generator`` so results are deterministic for a
seed; nothing here reads global random state.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

import numpy as np

from edgekws.errors import DatasetError


@dataclass(frozen=True)
class AugmentConfig:
    """Training-time augmentation settings (defaults of the TF speech_commands example)."""

    time_shift_ms: float = 100.0
    background_frequency: float = 0.8
    background_volume: float = 0.1

    def __post_init__(self) -> None:
        if self.time_shift_ms < 0:
            raise DatasetError(f"time_shift_ms must be >= 0, got {self.time_shift_ms}")
        if not 0.0 <= self.background_frequency <= 1.0:
            raise DatasetError(f"background_frequency must be in [0, 1], got {self.background_frequency}")
        if self.background_volume < 0:
            raise DatasetError(f"background_volume must be >= 0, got {self.background_volume}")

    def to_dict(self) -> dict:
        """Plain JSON-able dict."""
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        """Canonical JSON (sorted keys), used in feature-cache keys."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict) -> AugmentConfig:
        """Inverse of :meth:`to_dict`."""
        extra = set(d) - {f.name for f in dataclasses.fields(cls)}
        if extra:
            raise DatasetError(f"unknown AugmentConfig keys: {', '.join(sorted(extra))}")
        return cls(**d)


def fit_length(x: np.ndarray, n: int) -> np.ndarray:
    """Zero-pad at the end or crop the end so ``x`` has exactly ``n`` samples (float32)."""
    x = np.asarray(x, dtype=np.float32)
    if x.shape[-1] == n:
        return x
    if x.shape[-1] > n:
        return x[..., :n]
    pad = [(0, 0)] * (x.ndim - 1) + [(0, n - x.shape[-1])]
    return np.pad(x, pad)


def time_shift(x: np.ndarray, shift: int) -> np.ndarray:
    """Shift a clip by ``shift`` samples (positive = later), keeping its length; zero fill."""
    x = np.asarray(x, dtype=np.float32)
    n = x.shape[-1]
    out = np.zeros_like(x)
    if shift >= n or shift <= -n:
        return out
    if shift > 0:
        out[..., shift:] = x[..., : n - shift]
    elif shift < 0:
        out[..., : n + shift] = x[..., -shift:]
    else:
        out[...] = x
    return out


def random_time_shift(x: np.ndarray, max_shift: int, rng: np.random.Generator) -> np.ndarray:
    """Shift by a uniform integer in ``[-max_shift, max_shift]``."""
    if max_shift <= 0:
        return np.asarray(x, dtype=np.float32).copy()
    return time_shift(x, int(rng.integers(-max_shift, max_shift + 1)))


def cut_segment(noise: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """A random ``n``-sample segment of a noise recording (zero padded if it is shorter)."""
    noise = np.asarray(noise, dtype=np.float32)
    if noise.shape[0] <= n:
        return fit_length(noise, n)
    start = int(rng.integers(0, noise.shape[0] - n + 1))
    return noise[start : start + n].copy()


def make_silence(
    noises: list[np.ndarray], n: int, rng: np.random.Generator, max_volume: float = 1.0
) -> np.ndarray:
    """A ``_silence_`` example: a random noise segment at a gain in ``[0, max_volume]``.

    Real "silence" is never digital zero; using the noise files teaches the
    model what an empty room sounds like. Zeros only when there is no noise.
    """
    if not noises:
        return np.zeros(n, dtype=np.float32)
    noise = noises[int(rng.integers(0, len(noises)))]
    gain = float(rng.uniform(0.0, max_volume))
    return np.clip(cut_segment(noise, n, rng) * gain, -1.0, 1.0).astype(np.float32)


def mix_background(x: np.ndarray, noise: np.ndarray, gain: float) -> np.ndarray:
    """``x + gain * noise`` clipped to [-1, 1] (the int16 range the device sees)."""
    return np.clip(np.asarray(x, np.float32) + np.float32(gain) * noise, -1.0, 1.0).astype(np.float32)


def augment_clip(
    x: np.ndarray,
    noises: list[np.ndarray],
    cfg: AugmentConfig,
    rng: np.random.Generator,
    sample_rate: int = 16000,
) -> np.ndarray:
    """Time shift, then background noise with probability ``background_frequency``."""
    out = random_time_shift(x, int(round(cfg.time_shift_ms * sample_rate / 1000.0)), rng)
    if noises and rng.uniform() < cfg.background_frequency:
        noise = cut_segment(noises[int(rng.integers(0, len(noises)))], out.shape[0], rng)
        out = mix_background(out, noise, float(rng.uniform(0.0, cfg.background_volume)))
    return out


def augment_batch(
    audio: np.ndarray,
    is_silence: np.ndarray,
    noises: list[np.ndarray],
    cfg: AugmentConfig,
    seed: int,
    *,
    sample_rate: int = 16000,
    silence_max_volume: float = 1.0,
    start_index: int = 0,
) -> np.ndarray:
    """Augment ``[N, n]`` clips; silence rows are re-drawn from the noise files.

    Row ``i`` is example ``start_index + i`` of its split and uses its own
    generator seeded by ``(seed, start_index + i)``: an example's augmentation
    depends neither on the examples before it nor on how the split is chunked.
    """
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 2:
        raise DatasetError(f"augment_batch expects [N, n] audio, got shape {audio.shape}")
    out = np.empty_like(audio)
    for i in range(audio.shape[0]):
        rng = np.random.default_rng([seed, start_index + i])
        if is_silence[i]:
            out[i] = make_silence(noises, audio.shape[1], rng, silence_max_volume)
        else:
            out[i] = augment_clip(audio[i], noises, cfg, rng, sample_rate)
    return out
