"""From salience and pYIN to F0 contours: CNN decoding, pYIN, and the combined estimator.

All contours are on the analysis grid (10 ms frames), in Hz, 0 = unvoiced, so
mir_eval scores them as they are.

The combined estimator (:func:`combine`) trusts the CNN's fine pitch resolution but
pYIN's octave and voicing where pYIN is confident. Why: a salience CNN trained on
random spectral envelopes sometimes peaks at the octave of a fundamental whose
partials are weak, or stays below threshold on quiet note edges; pYIN's HMM over
YIN candidates rarely jumps octaves on a monophonic harmonic tone and marks
voicing with a probability. So per frame, where pYIN is confidently voiced:

* *fill*: the CNN is unvoiced -> take the salience peak near pYIN's F0;
* *correct*: the CNN's F0 is a whole number of octaves (not 0) from pYIN's ->
  the salience peak near pYIN's F0 replaces it;

"near" is within ``search_cents``; if the salience there stays below ``support``,
pYIN's F0 itself is used. Elsewhere the CNN's estimate stands.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgekws.tasks.f0.config import BINS_PER_OCTAVE, FMAX, FMIN, HOP, N_BINS, SAMPLE_RATE, EstimatorConfig
from edgekws.tasks.f0.features import bin_to_hz, hz_to_bin


def refine(sal: np.ndarray, peak: int) -> float:
    """Fractional bin of a salience peak: the salience-weighted mean of the peak and its two neighbours each side."""
    lo, hi = max(0, peak - 2), min(len(sal), peak + 3)
    w = sal[lo:hi]
    return float(np.sum(w * np.arange(lo, hi)) / max(float(w.sum()), 1e-12))


def decode_mono(sal: np.ndarray, threshold: float) -> np.ndarray:
    """One F0 per frame: the highest salience bin (refined) if it reaches ``threshold``, else 0."""
    peak = np.argmax(sal, axis=1)
    out = np.zeros(len(sal))
    for t, p in enumerate(peak):
        if sal[t, p] >= threshold:
            out[t] = bin_to_hz(refine(sal[t], int(p)))
    return out


def decode_multi(sal: np.ndarray, threshold: float, max_voices: int, min_distance: int) -> list[np.ndarray]:
    """Per frame, up to ``max_voices`` F0s: the highest local maxima of the salience reaching ``threshold``,
    at least ``min_distance`` bins apart, in ascending pitch."""
    from scipy.signal import find_peaks

    out = []
    for t in range(len(sal)):
        peaks, props = find_peaks(sal[t], height=threshold, distance=min_distance)
        keep = peaks[np.argsort(props["peak_heights"])[::-1][:max_voices]]
        out.append(np.sort(bin_to_hz(np.array([refine(sal[t], int(p)) for p in keep]))))
    return out


@dataclass(frozen=True)
class Pyin:
    """pYIN's output on the analysis grid: F0 (0 = unvoiced) and its voiced probability."""

    f0: np.ndarray
    voiced_prob: np.ndarray


def pyin(x: np.ndarray, n_frames: int, frame_length: int = 1024) -> Pyin:
    """librosa.pyin over the grid's range, centred frames at the grid's hop, trimmed/padded to ``n_frames``."""
    import librosa

    f0, voiced, prob = librosa.pyin(x, fmin=FMIN, fmax=FMAX, sr=SAMPLE_RATE, frame_length=frame_length,
                                    hop_length=HOP, center=True)
    f = np.where(voiced & np.isfinite(f0), f0, 0.0)
    p = np.nan_to_num(prob)
    pad = max(0, n_frames - len(f))
    return Pyin(np.pad(f, (0, pad))[:n_frames], np.pad(p, (0, pad))[:n_frames])


def _near_peak(sal_t: np.ndarray, f_hz: float, search_cents: float, support: float) -> float:
    """The refined salience peak within ``search_cents`` of ``f_hz``, or ``f_hz`` if it is below ``support``."""
    c = float(hz_to_bin(f_hz))
    half = search_cents / (1200.0 / BINS_PER_OCTAVE)
    lo, hi = max(0, int(np.floor(c - half))), min(N_BINS, int(np.ceil(c + half)) + 1)
    if lo >= hi:
        return f_hz
    p = lo + int(np.argmax(sal_t[lo:hi]))
    return float(bin_to_hz(refine(sal_t, p))) if sal_t[p] >= support else f_hz


def octave_off(f_cnn: float, f_ref: float, tolerance_cents: float) -> bool:
    """True when ``f_cnn`` is k != 0 octaves from ``f_ref`` to within ``tolerance_cents``."""
    d = 1200.0 * np.log2(f_cnn / f_ref)
    k = round(d / 1200.0)
    return k != 0 and abs(d - 1200.0 * k) <= tolerance_cents


def combine(sal: np.ndarray, cnn_f0: np.ndarray, p: Pyin, cfg: EstimatorConfig) -> tuple[np.ndarray, dict[str, int]]:
    """The combined contour and how many frames were filled / corrected (see the module docstring)."""
    out = cnn_f0.copy()
    filled = corrected = 0
    for t in range(len(out)):
        if p.f0[t] <= 0 or p.voiced_prob[t] < cfg.pyin_confidence:
            continue
        if out[t] <= 0:
            out[t] = _near_peak(sal[t], float(p.f0[t]), cfg.search_cents, cfg.support)
            filled += 1
        elif octave_off(float(out[t]), float(p.f0[t]), cfg.octave_tolerance):
            out[t] = _near_peak(sal[t], float(p.f0[t]), cfg.search_cents, cfg.support)
            corrected += 1
    return out, {"filled": filled, "corrected": corrected}


def combine_multi(sal: np.ndarray, cands: list[np.ndarray], p: Pyin,
                  cfg: EstimatorConfig) -> tuple[list[np.ndarray], int]:
    """Multi-F0 candidates plus pYIN's F0 where it is confident and no candidate lies within ``search_cents``
    (while fewer than ``max_voices`` are present): pYIN fills a voice the salience missed. Returns the
    candidates and how many frames got one added."""
    out, added = [], 0
    for t, c in enumerate(cands):
        f = float(p.f0[t])
        if (f > 0 and p.voiced_prob[t] >= cfg.pyin_confidence and len(c) < cfg.max_voices
                and not np.any(np.abs(1200.0 * np.log2(np.maximum(c, 1e-9) / f)) <= cfg.search_cents)):
            c = np.sort(np.append(c, _near_peak(sal[t], f, cfg.search_cents, cfg.support)))
            added += 1
        out.append(c)
    return out, added


def assign_voices(cands: list[np.ndarray], voices: int = 2) -> np.ndarray:
    """``[frames, voices]`` contours from per-frame candidate sets, voice 0 the lowest.

    A full set is assigned in pitch order (right for voices that never cross, as
    the generator's); a frame with fewer candidates gives each to the voice whose
    last F0 is nearest in cents, so a voice that pauses does not push its candidate
    into the other voice's contour.
    """
    out = np.zeros((len(cands), voices))
    last = np.full(voices, np.nan)
    for t, c in enumerate(cands):
        if len(c) >= voices:
            out[t] = np.sort(c)[:voices]
            last[:] = out[t]
            continue
        free = list(range(voices))
        for f in c:
            # no history yet: below 300 Hz prefer the lowest free voice, above it the highest
            dist = [abs(np.log2(f / last[v])) if np.isfinite(last[v]) else (v if f < 300 else voices - v)
                    for v in free]
            v = free.pop(int(np.argmin(dist)))
            out[t, v] = f
            last[v] = f
    return out
