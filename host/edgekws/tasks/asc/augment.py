"""Device-robustness augmentation on log-mel features: Freq-MixStyle and device impulse-response filtering.

Both are drawn afresh for every epoch from the run's seed, so each epoch sees other
mixes and other microphones.

* **Freq-MixStyle** (Schmid et al., CP-JKU, DCASE 2022): per clip, normalise each mel
  band by its own mean and standard deviation over time, then restore it with a
  Beta-weighted mix of its statistics and those of another clip. A device's
  frequency response is mostly a per-band offset and scale of the log-mel, so mixing
  these statistics mixes devices while keeping the scene's time structure.
* **Device impulse responses** (DIR augmentation, Morocutti et al. 2023): filter the
  clip by a microphone's impulse response. Why in the feature domain: convolving the
  waveform and recomputing the frontend every epoch costs the frontend's time per
  epoch; for a filter much shorter than the analysis window, log-mel(x * h) equals
  log-mel(x) + the band's gain of ``|H|^2`` (weighted by the mel triangle), so the
  filter is the per-band dB offset :func:`ir_band_gains` computes once per bank
  entry with the shared frontend's own filterbank. The bank is synthetic (short
  decaying random FIRs from its own seed): the generator's devices, above all the
  unseen S4-S6, are never used for augmentation.
"""

from __future__ import annotations

import numpy as np

from edgekws.frontend import FrontendConfig
from edgekws.frontend.features import mel_filterbank


def ir_bank(n: int, seed: int, sample_rate: int) -> list[np.ndarray]:
    """``n`` synthetic microphone impulse responses: a direct tap and 1-4 ms of decaying random reflections."""
    rng = np.random.default_rng([seed, 31])
    out = []
    for _ in range(n):
        length = int(rng.uniform(0.001, 0.004) * sample_rate)
        h = rng.standard_normal(length) * np.exp(-np.arange(length) / (rng.uniform(0.1, 0.5) * length))
        h[0] = abs(h[0]) + rng.uniform(0.5, 2.0)
        out.append(h / np.sqrt(np.sum(h * h)))
    return out


def ir_band_gains(irs: list[np.ndarray], cfg: FrontendConfig) -> np.ndarray:
    """``[len(irs), n_mels]`` dB gain of each impulse response in each band of the frontend's mel filterbank."""
    fb = mel_filterbank(cfg).astype(np.float64)
    flat = fb.sum(axis=1)
    gains = []
    for h in irs:
        power = np.abs(np.fft.rfft(h, cfg.n_fft)) ** 2
        gains.append(10 * np.log10(np.maximum(fb @ power, 1e-12) / np.maximum(flat, 1e-12)))
    return np.asarray(gains, np.float32)


def apply_dir(x_db: np.ndarray, gains: np.ndarray, p: float, rng: np.random.Generator) -> np.ndarray:
    """Add a random bank entry's band gains to a share ``p`` of the clips (``x_db``: ``[N, frames, bands]`` in dB)."""
    if p <= 0 or len(gains) == 0:
        return x_db
    pick = rng.integers(len(gains), size=len(x_db))
    on = (rng.random(len(x_db)) < p)[:, None, None]
    return np.where(on, x_db + gains[pick][:, None, :], x_db).astype(np.float32)


def freq_mixstyle(x: np.ndarray, p: float, alpha: float, rng: np.random.Generator, eps: float = 1e-6) -> np.ndarray:
    """Freq-MixStyle over ``[N, frames, bands]``: a share ``p`` of clips gets its band statistics mixed with a
    random partner's by ``lambda ~ Beta(alpha, alpha)``."""
    if p <= 0 or len(x) < 2:
        return x
    mu = x.mean(axis=1, keepdims=True)
    sig = np.sqrt(x.var(axis=1, keepdims=True) + eps)
    perm = rng.permutation(len(x))
    lam = rng.beta(alpha, alpha, size=(len(x), 1, 1)).astype(np.float32)
    mixed = (x - mu) / sig * (lam * sig + (1 - lam) * sig[perm]) + lam * mu + (1 - lam) * mu[perm]
    on = (rng.random(len(x)) < p)[:, None, None]
    return np.where(on, mixed, x).astype(np.float32)
