"""Synthetic F0 data with exact ground truth, written in the MDB-stem-synth layout (plus two-voice mixtures).

Why synthesise: MDB-stem-synth itself is *re-synthesised* audio whose F0 is exact by
construction; the same idea here gives any amount of such data offline. Each stem
is a sum of harmonics whose phase integrates the F0 contour sample by sample, so
the ground truth is the contour itself, not an estimate of it.

Layout written (``root``):

* ``audio_stems/<name>.RESYN.wav`` and ``annotation_stems/<name>.RESYN.csv``
  (``time,f0`` rows, no header, f0 in Hz, 0 = unvoiced, 128/44100 s apart: as
  MDB-stem-synth);
* ``mixtures/<name>.wav`` and ``mixtures/<name>.csv`` (``time,f0_1,f0_2``, one column
  per voice, 0 = that voice silent). MDB-stem-synth has no mixtures; this folder is
  the generator's own, read by :func:`edgekws.tasks.f0.dataset.load_mixtures`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgekws.audio import write_wav
from edgekws.tasks.base import ProgressFn, no_progress
from edgekws.tasks.f0.config import MIDI_HI, MIDI_LO, SynthConfig

#: MDB-stem-synth's annotation hop (128 samples at 44.1 kHz).
TRUTH_HOP_S = 128 / 44100


def midi_to_hz(m: np.ndarray | float) -> np.ndarray:
    return 440.0 * 2.0 ** ((np.asarray(m, dtype=np.float64) - 69.0) / 12.0)


def contour(rng: np.random.Generator, n: int, sr: int, cfg: SynthConfig, lo: int, hi: int) -> np.ndarray:
    """Per-sample F0 in Hz (0 = unvoiced): notes, glides between some, gaps between others, vibrato."""
    f0 = np.zeros(n)
    t = int(rng.uniform(0.0, 0.25) * sr)  # a voice rarely starts at sample 0
    pitch = float(rng.uniform(lo, hi))
    while t < n:
        dur = int(rng.uniform(0.15, 0.8) * sr)
        seg = np.full(dur, pitch)
        if rng.random() < cfg.vibrato_prob:
            rate, depth = rng.uniform(4.0, 7.0), rng.uniform(0.2, 1.0) * cfg.vibrato_cents / 100.0
            seg = seg + depth * np.sin(2 * np.pi * rate * np.arange(dur) / sr + rng.uniform(0, 2 * np.pi))
        end = min(n, t + dur)
        f0[t:end] = midi_to_hz(seg[:end - t])
        nxt = float(np.clip(pitch + rng.integers(-7, 8) + rng.normal(0, 0.1), lo, hi))
        if rng.random() < cfg.gap_prob:
            t = end + int(rng.uniform(0.05, 0.3) * sr)
        else:  # a glide (portamento) of 30-150 ms from this note's last pitch to the next note
            g = int(rng.uniform(0.03, 0.15) * sr)
            start = 12 * np.log2(f0[end - 1] / 440.0) + 69 if end > 0 and f0[end - 1] > 0 else pitch
            gl = np.linspace(start, nxt, g, endpoint=False)
            e2 = min(n, end + g)
            f0[end:e2] = midi_to_hz(gl[:e2 - end])
            t = e2
        pitch = nxt
    return f0


def render(rng: np.random.Generator, f0: np.ndarray, sr: int) -> np.ndarray:
    """Harmonic tone following ``f0``: a random spectral envelope (roll-off + two formants), note envelopes."""
    voiced = f0 > 0
    phase = 2 * np.pi * np.cumsum(f0) / sr
    slope = rng.uniform(0.4, 1.8)
    formants = [(rng.uniform(300, 3000), rng.uniform(150, 800), rng.uniform(0.0, 2.5)) for _ in range(2)]
    out = np.zeros(len(f0))
    kmax = int(0.45 * sr / max(float(f0[voiced].min()) if voiced.any() else 100.0, 20.0))
    for k in range(1, kmax + 1):
        fk = k * f0
        amp = k ** (-slope) * (1.0 + sum(g * np.exp(-0.5 * ((fk - c) / w) ** 2) for c, w, g in formants))
        amp = np.where(voiced & (fk < 0.45 * sr), amp, 0.0)
        out += amp * np.sin(k * phase + rng.uniform(0, 2 * np.pi))
    # 10 ms attack / release at every voiced run's edges: no clicks that a pitch tracker could lock onto
    ramp = max(1, int(0.01 * sr))
    env = np.convolve(voiced.astype(float), np.ones(ramp) / ramp, mode="same")
    return out * env


def _add_noise(rng: np.random.Generator, x: np.ndarray, snr_db: tuple[float, float]) -> np.ndarray:
    p = float(np.mean(x ** 2)) + 1e-12
    snr = rng.uniform(*snr_db)
    return x + rng.normal(0.0, np.sqrt(p / 10 ** (snr / 10)), len(x))


def truth_rows(f0: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """(times, f0) sampled every :data:`TRUTH_HOP_S` from the per-sample contour (exact at those instants)."""
    times = np.arange(0.0, len(f0) / sr, TRUTH_HOP_S)
    idx = np.minimum(np.round(times * sr).astype(int), len(f0) - 1)
    return times, f0[idx]


def _normalise(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return x / (np.max(np.abs(x)) + 1e-9) * rng.uniform(0.3, 0.9)


def generate(out: Path, cfg: SynthConfig, progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Write ``cfg.tracks`` stems and ``cfg.mixtures`` two-voice mixtures into ``out``; returns a summary."""
    sr, n = cfg.sample_rate, int(cfg.seconds * cfg.sample_rate)
    (out / "audio_stems").mkdir(parents=True, exist_ok=True)
    (out / "annotation_stems").mkdir(parents=True, exist_ok=True)
    voiced_s = 0.0
    total = cfg.tracks + cfg.mixtures
    for i in range(cfg.tracks):
        rng = np.random.default_rng([cfg.seed, 1, i])
        f0 = contour(rng, n, sr, cfg, MIDI_LO, MIDI_HI)
        x = _normalise(_add_noise(rng, render(rng, f0, sr), cfg.snr_db), rng)
        name = f"synth_{i:04d}"
        write_wav(out / "audio_stems" / f"{name}.RESYN.wav", x.astype(np.float32), sr)
        t, f = truth_rows(f0, sr)
        np.savetxt(out / "annotation_stems" / f"{name}.RESYN.csv", np.stack([t, f], 1), fmt="%.6f", delimiter=",")
        voiced_s += float(np.mean(f0 > 0)) * cfg.seconds
        progress("stems", i + 1, total)
    if cfg.mixtures:
        (out / "mixtures").mkdir(exist_ok=True)
    for j in range(cfg.mixtures):
        rng = np.random.default_rng([cfg.seed, 2, j])
        # two violin-like voices in disjoint ranges (lower 38-60, upper 63-82): they never cross
        lo_f0 = contour(rng, n, sr, cfg, MIDI_LO, 60)
        hi_f0 = contour(rng, n, sr, cfg, 63, MIDI_HI)
        x = render(rng, lo_f0, sr) + render(rng, hi_f0, sr) * rng.uniform(0.5, 1.5)
        x = _normalise(_add_noise(rng, x, cfg.snr_db), rng)
        name = f"mix_{j:04d}"
        write_wav(out / "mixtures" / f"{name}.wav", x.astype(np.float32), sr)
        t, a = truth_rows(lo_f0, sr)
        _, b = truth_rows(hi_f0, sr)
        np.savetxt(out / "mixtures" / f"{name}.csv", np.stack([t, a, b], 1), fmt="%.6f", delimiter=",")
        progress("mixtures", cfg.tracks + j + 1, total)
    return {"tracks": cfg.tracks, "mixtures": cfg.mixtures, "seconds_each": cfg.seconds,
            "voiced_seconds_stems": round(voiced_s, 2), "sample_rate": sr}
