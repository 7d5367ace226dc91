"""The salience CNN's input (harmonic CQT) and target, on the fixed 20-cent pitch grid.

Harmonic CQT (Bittner et al.'s deep salience input): CQTs whose lowest bin sits at
``h x`` the grid's lowest pitch for h in :data:`HARMONICS`, stacked as channels, so
channel ``h`` at bin ``b`` holds the energy at ``h`` times bin ``b``'s pitch. A
local convolution then sees a pitch's partials (h = 1, 2, 3) *and* the energy an
octave below it (h = 0.5), which is what tells a fundamental from its
octave: bin ``2 f0`` also has energy at h = 1, 2, 3 (partials 2, 4, 6), but none of
them is the whole series. Why not log-mel from the shared frontend: mel bands are
far wider than 20 cents above ~500 Hz, so the output grid could not be aligned with
the input; the CQT here is a task-specific model input, not a second KWS frontend.
"""

from __future__ import annotations

import numpy as np

from edgekws.tasks.f0.config import BINS_PER_OCTAVE, FMIN, HOP, N_BINS, SAMPLE_RATE

HARMONICS = (0.5, 1.0, 2.0, 3.0)
#: dB range kept below each clip's loudest HCQT cell, mapped to [0, 1].
DB_RANGE = 80.0


def bin_to_hz(b: np.ndarray | float) -> np.ndarray:
    return FMIN * 2.0 ** (np.asarray(b, dtype=np.float64) / BINS_PER_OCTAVE)


def hz_to_bin(f: np.ndarray | float) -> np.ndarray:
    """Fractional bin index of ``f`` Hz (``f`` > 0)."""
    return BINS_PER_OCTAVE * np.log2(np.asarray(f, dtype=np.float64) / FMIN)


def frame_times(n_frames: int) -> np.ndarray:
    """Centre of each analysis frame (librosa's centred frames: frame ``t`` at ``t * HOP / SR``)."""
    return np.arange(n_frames) * HOP / SAMPLE_RATE


def n_frames(n_samples: int) -> int:
    return 1 + n_samples // HOP


def hcqt(x: np.ndarray) -> np.ndarray:
    """``[frames, N_BINS, len(HARMONICS)]`` float32 in [0, 1]: dB re the clip's maximum, floored at -80 dB."""
    import warnings

    import librosa

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "n_fft too large" for the low octaves of clips under ~2 s: harmless
        chans = [np.abs(librosa.cqt(x, sr=SAMPLE_RATE, hop_length=HOP, fmin=FMIN * h, n_bins=N_BINS,
                                    bins_per_octave=BINS_PER_OCTAVE)) for h in HARMONICS]
    c = np.stack(chans, axis=-1).transpose(1, 0, 2)[: n_frames(len(x))]
    db = 20.0 * np.log10(np.maximum(c, 1e-10) / max(float(c.max()), 1e-10))
    return ((np.maximum(db, -DB_RANGE) + DB_RANGE) / DB_RANGE).astype(np.float32)


def salience_target(f0: np.ndarray, sigma_bins: float = 1.0) -> np.ndarray:
    """``[frames, N_BINS]``: a Gaussian (``sigma_bins`` wide, peak 1) at every voiced F0 of ``f0[frames, voices]``.

    Why blurred rather than one-hot: a one-bin target punishes a 20-cent miss as
    much as an octave error; the Gaussian makes neighbouring bins partly right.
    """
    bins = np.arange(N_BINS)[None, :]
    out = np.zeros((f0.shape[0], N_BINS), np.float32)
    for v in range(f0.shape[1]):
        voiced = f0[:, v] > 0
        c = np.where(voiced, hz_to_bin(np.where(voiced, f0[:, v], FMIN)), -1e3)[:, None]
        g = np.exp(-0.5 * ((bins - c) / sigma_bins) ** 2) * voiced[:, None]
        out = np.maximum(out, g.astype(np.float32))
    return out
