"""Freshly perturbed synthetic audio: a new speaker/channel/room for every draw of a clip.

Why: a few thousand TTS clips are a handful of voices in a clean studio; real people differ in
tempo, vocal-tract length, microphone and room. Drawing a new perturbation every time a clip is
used (never the same waveform twice) and mixing two voices (mixup) is cheap to generate and lets
the teacher label audio the student would otherwise never hear. Every draw is seeded, so a run
is reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, fftconvolve, sosfilt

from edgekws.data.augment import cut_segment

SR = 16000


@dataclass(frozen=True)
class FreshConfig:
    """Ranges of the per-draw perturbations (probabilities in [0, 1])."""

    speed: tuple[float, float] = (0.85, 1.18)
    shift_ms: float = 150.0
    p_band: float = 0.5
    p_reverb: float = 0.35
    rt60: tuple[float, float] = (0.1, 0.6)
    peak_dbfs: tuple[float, float] = (-32.0, -1.0)
    p_noise: float = 0.8
    snr_db: tuple[float, float] = (0.0, 30.0)


def change_speed(x: np.ndarray, factor: float) -> np.ndarray:
    """Resample by ``factor`` (>1 faster and higher): tempo and vocal-tract length change together."""
    n = len(x)
    m = max(2, int(round(n / factor)))
    return np.interp(np.linspace(0, n - 1, m), np.arange(n), x).astype(np.float32)


def centre_in(x: np.ndarray, n: int, shift: int) -> np.ndarray:
    """Place ``x`` in an ``n``-sample window, centred then moved by ``shift`` samples (zero filled)."""
    out = np.zeros(n, np.float32)
    start = (n - len(x)) // 2 + shift
    a, b = max(0, start), min(n, start + len(x))
    if b > a:
        out[a:b] = x[a - start : b - start]
    return out


def band_limit(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A cheap microphone: random high-pass (60-400 Hz) and low-pass (2.8-7.6 kHz) corners."""
    lo = rng.uniform(60, 400)
    hi = rng.uniform(2800, 7600)
    sos = butter(int(rng.integers(1, 4)), [lo, hi], btype="bandpass", fs=SR, output="sos")
    return sosfilt(sos, x).astype(np.float32)


def reverberate(x: np.ndarray, rng: np.random.Generator, rt60: tuple[float, float]) -> np.ndarray:
    """A simulated room: exponentially decaying noise impulse response, random wet/dry mix."""
    t60 = rng.uniform(*rt60)
    n = int(SR * min(t60, 0.8))
    t = np.arange(n) / SR
    ir = rng.normal(0, 1, n) * np.exp(-6.9 * t / t60)
    ir[0] = 1.0 / max(rng.uniform(0.2, 1.0), 1e-3)  # direct path
    ir /= np.sqrt(np.sum(ir**2))
    wet = fftconvolve(x, ir)[: len(x)]
    return (wet * rng.uniform(0.5, 1.0) + x * rng.uniform(0.0, 0.5)).astype(np.float32)


def add_noise(x: np.ndarray, noises: list[np.ndarray], rng: np.random.Generator, snr_db: float) -> np.ndarray:
    """Real background noise (or white noise when none is given) at ``snr_db`` relative to ``x``."""
    seg = cut_segment(noises[int(rng.integers(0, len(noises)))], len(x), rng) if noises else \
        rng.normal(0, 1, len(x)).astype(np.float32)
    ps = float(np.mean(x**2)) + 1e-12
    pn = float(np.mean(seg**2)) + 1e-12
    return (x + seg * np.sqrt(ps / pn / 10 ** (snr_db / 10))).astype(np.float32)


def set_peak(x: np.ndarray, dbfs: float) -> np.ndarray:
    """Scale to a peak of ``dbfs`` (loudness variety), clipped to the int16 range."""
    peak = float(np.max(np.abs(x))) + 1e-9
    return np.clip(x * (10 ** (dbfs / 20) / peak), -1.0, 1.0).astype(np.float32)


def perturb(x: np.ndarray, noises: list[np.ndarray], rng: np.random.Generator,
            cfg: FreshConfig = FreshConfig(), silence: bool = False) -> np.ndarray:
    """One fresh draw of a 1 s clip. Silence clips only get a new noise segment at a new gain."""
    n = len(x)
    if silence:
        if noises:
            seg = cut_segment(noises[int(rng.integers(0, len(noises)))], n, rng)
            return np.clip(seg * rng.uniform(0.0, 1.0), -1, 1).astype(np.float32)
        return (x * rng.uniform(0.0, 1.0)).astype(np.float32)
    y = change_speed(np.asarray(x, np.float32), rng.uniform(*cfg.speed))
    y = centre_in(y, n, int(rng.integers(-1, 2) * rng.uniform(0, cfg.shift_ms) * SR / 1000))
    if rng.uniform() < cfg.p_band:
        y = band_limit(y, rng)
    if rng.uniform() < cfg.p_reverb:
        y = reverberate(y, rng, cfg.rt60)
    if rng.uniform() < cfg.p_noise:
        y = add_noise(y, noises, rng, rng.uniform(*cfg.snr_db))
    return set_peak(y, rng.uniform(*cfg.peak_dbfs))


def fresh_batch(audio: np.ndarray, y: np.ndarray, silence_label: int, noises: list[np.ndarray],
                rng: np.random.Generator, cfg: FreshConfig = FreshConfig(),
                p_mix: float = 0.0, n_classes: int = 12) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Perturb every clip once; with probability ``p_mix`` mix it with another clip of the batch.

    Returns ``(audio [N, n], soft labels [N, C], mixed flags [N])``: the soft label of a mix is
    ``lam * y_a + (1 - lam) * y_b``; the teacher labels the mixed waveform itself.
    """
    out = np.stack([perturb(a, noises, rng, cfg, silence=int(c) == silence_label) for a, c in zip(audio, y, strict=True)])
    soft = np.eye(n_classes, dtype=np.float32)[y]
    mixed = np.zeros(len(y), bool)
    if p_mix > 0 and len(y) > 1:
        partner = rng.permutation(len(y))
        for i in np.flatnonzero(rng.uniform(size=len(y)) < p_mix):
            j = partner[i]
            if j == i:
                continue
            lam = float(rng.beta(2.0, 2.0))
            lam = max(lam, 1 - lam)  # the first clip dominates
            out[i] = np.clip(lam * out[i] + (1 - lam) * out[j], -1, 1)
            soft[i] = lam * soft[i] + (1 - lam) * np.eye(n_classes, dtype=np.float32)[y[j]]
            mixed[i] = True
    return out.astype(np.float32), soft, mixed
