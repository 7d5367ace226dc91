"""Synthetic phonocardiograms in the PhysioNet 2016 layout with CirCor-style ``.tsv`` state annotations.

What makes a record (every draw seeded by the config's seed and the record's
index, so the same config writes the same bytes):

1. **Timing**: a heart rate drawn per record in ``hr_min .. hr_max`` bpm; each beat's
   RR interval varies by ``hrv`` (relative, Gaussian) plus a respiratory sinus
   arrhythmia at the breathing rate. Systole (S1 onset -> S2 onset) is
   ``0.30 * sqrt(RR)`` s (0.30 s at 60 bpm, shorter at faster rates, as in the
   Bazett-type relation), S1 lasts ~0.10-0.14 s, S2 ~0.07-0.11 s.
2. **Sounds**: S1 and S2 are damped bursts of two low-frequency components with a
   slight downward chirp: S1 ~30-45 Hz plus 60-150 Hz, S2 shorter and higher
   (50-70 Hz plus 100-200 Hz); per-beat amplitude jitter.
3. **Abnormal records** get one (30 %: two) of: a systolic murmur (band-limited noise
   with a crescendo-decrescendo envelope filling systole), a diastolic murmur
   (decrescendo from S2's end), a split S2 (A2 then P2 30-60 ms later; the S2 state
   spans both) or an S3 (a faint 25-45 Hz sound early in diastole, annotated as diastole).
4. **Noise**: breathing (slow amplitude modulation plus low-frequency noise during
   inspiration), motion/friction bursts (broadband, 0.05-0.4 s, Poisson in time) and
   a white floor; each at the config's level relative to S1's peak.

Written: ``training-a/REFERENCE.csv`` ... (``a0001,-1``; records spread over
``subsets`` folders), ``<id>.wav`` (16-bit, ``sample_rate``) and ``<id>.tsv`` beside
each, and ``pcg_synth.json`` with the config and every record's drawn parameters.
The ``.tsv`` tiles the whole recording (partial cycles at the edges included), so
it is exact truth for every sample.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgekws.audio import write_wav
from edgekws.errors import ConfigError
from edgekws.tasks.base import ProgressFn, no_progress
from edgekws.tasks.pcg.annotations import DIASTOLE, S1, S2, SYSTOLE, Segment, write_tsv
from edgekws.tasks.pcg.physionet import ABNORMAL, NORMAL, REFERENCE, SUBSETS
from edgekws.tasks.runner import write_json

TRUTH = "pcg_synth.json"
ABNORMAL_KINDS = ("systolic_murmur", "diastolic_murmur", "split_s2", "s3")


@dataclass(frozen=True)
class PcgSynthConfig:
    """The synthetic PCG generator: how many records of each class, how long, how noisy."""

    normal_records: int = 40
    abnormal_records: int = 20
    seconds: float = 10.0
    sample_rate: int = 2000
    subsets: int = 2
    hr_min: float = 50.0
    hr_max: float = 120.0
    hrv: float = 0.04
    murmur_level: float = 0.25
    breathing_level: float = 0.1
    motion_rate: float = 0.05
    motion_level: float = 0.5
    noise_level: float = 0.02
    seed: int = 0

    def __post_init__(self) -> None:
        if self.normal_records < 0 or self.abnormal_records < 0 or self.normal_records + self.abnormal_records < 1:
            raise ConfigError("normal_records and abnormal_records must be >= 0, together at least 1")
        if not 2.0 <= self.seconds <= 600.0:
            raise ConfigError(f"seconds must lie in [2, 600], got {self.seconds}")
        if not 1000 <= self.sample_rate <= 48000:
            raise ConfigError(f"sample_rate must lie in 1000..48000 Hz (PhysioNet: 2000), got {self.sample_rate}")
        if not 1 <= self.subsets <= len(SUBSETS):
            raise ConfigError(f"subsets must lie in 1..{len(SUBSETS)}, got {self.subsets}")
        if not 30.0 <= self.hr_min <= self.hr_max <= 150.0:
            raise ConfigError(f"need 30 <= hr_min <= hr_max <= 150 bpm, got {self.hr_min} .. {self.hr_max}")
        levels = (self.hrv, self.murmur_level, self.breathing_level, self.motion_rate, self.motion_level,
                  self.noise_level)
        if not all(math.isfinite(v) and v >= 0 for v in levels) or self.hrv > 0.15:
            raise ConfigError("hrv (<= 0.15), murmur/breathing/motion/noise levels and motion_rate must be >= 0")


def _band_noise(n: int, sr: int, rng: np.random.Generator, lo: float, hi: float) -> np.ndarray:
    """Unit-RMS noise with energy only in ``lo .. hi`` Hz (FFT brick wall: exact band, no filter design)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / sr)
    spec[(f < lo) | (f > min(hi, sr / 2))] = 0.0
    x = np.fft.irfft(spec, n)
    rms = float(np.sqrt(np.mean(x * x)))
    return x / rms if rms > 0 else x


def _burst(dur: float, sr: int, freqs: tuple[float, ...], amps: tuple[float, ...],
           rng: np.random.Generator) -> np.ndarray:
    """A heart sound: a sin^2 window times a decay, carrying components that glide ~15 % down (peak 1)."""
    n = max(2, int(round(dur * sr)))
    tt = np.arange(n) / sr
    env = np.sin(np.pi * tt / dur) ** 2 * np.exp(-2.5 * tt / dur)
    x = np.zeros(n)
    for f, a in zip(freqs, amps, strict=True):
        inst = f * (1.0 - 0.15 * tt / dur)
        x += a * np.sin(2 * np.pi * np.cumsum(inst) / sr + rng.uniform(0, 2 * np.pi))
    x *= env
    peak = float(np.max(np.abs(x)))
    return x / peak if peak > 0 else x


def _add(x: np.ndarray, start_s: float, burst: np.ndarray, sr: int) -> None:
    """Add ``burst`` into ``x`` at ``start_s`` seconds, clipped to the record (partial beats at the edges)."""
    i0 = int(round(start_s * sr))
    a, b = max(0, i0), min(len(x), i0 + len(burst))
    if b > a:
        x[a:b] += burst[a - i0:b - i0]


def _clip_segments(segs: list[Segment], seconds: float) -> list[Segment]:
    out = []
    for s in segs:
        a, b = max(0.0, s.start), min(seconds, s.end)
        if b - a > 1e-9:
            out.append(Segment(round(a, 6), round(b, 6), s.state))
    return out


def record_params(cfg: PcgSynthConfig, abnormal: bool, rng: np.random.Generator) -> dict[str, Any]:
    """The per-record draws (heart rate, sound spectra, abnormality kinds and levels, noise) as plain JSON values."""
    kinds: list[str] = []
    if abnormal:
        kinds = [str(k) for k in rng.choice(ABNORMAL_KINDS, size=2 if rng.random() < 0.3 else 1, replace=False)]
    return {
        "heart_rate_bpm": float(rng.uniform(cfg.hr_min, cfg.hr_max)),
        "s1_dur": float(rng.uniform(0.10, 0.14)), "s2_dur": float(rng.uniform(0.07, 0.11)),
        "s1_freqs": [float(rng.uniform(30, 45)), float(rng.uniform(60, 150))],
        "s2_freqs": [float(rng.uniform(50, 70)), float(rng.uniform(100, 200))],
        "s2_amp": float(rng.uniform(0.5, 0.9)),
        "kinds": sorted(kinds),
        "murmur_amp": float(cfg.murmur_level * rng.uniform(0.5, 1.5)),
        "murmur_band": [float(rng.uniform(80, 150)), float(rng.uniform(300, 600))],
        "murmur_peak": float(rng.uniform(0.3, 0.6)),
        "split_gap": float(rng.uniform(0.03, 0.06)),
        "s3_delay": float(rng.uniform(0.12, 0.16)),
        "breath_rate_hz": float(rng.uniform(0.2, 0.33)),
        "breath_phase": float(rng.uniform(0, 2 * np.pi)),
        "gain": float(rng.uniform(0.3, 0.8)),
    }


def synth_record(cfg: PcgSynthConfig, p: dict[str, Any], rng: np.random.Generator) -> tuple[np.ndarray, list[Segment]]:
    """The waveform (float, peak = ``gain``) and its exact state segments for one record's parameters."""
    sr, seconds = cfg.sample_rate, cfg.seconds
    n = int(round(seconds * sr))
    heart = np.zeros(n)
    murmur_env = np.zeros(n)
    segs: list[Segment] = []
    rr_mean = 60.0 / p["heart_rate_bpm"]
    kinds = set(p["kinds"])
    t = -rng.uniform(0.0, rr_mean)  # start mid-cycle like a real recording
    while t < seconds:
        rr = rr_mean * (1 + cfg.hrv * float(np.clip(rng.standard_normal(), -2.5, 2.5)))
        rr *= 1 + 0.03 * math.sin(2 * math.pi * p["breath_rate_hz"] * t + p["breath_phase"])
        sys = 0.30 * math.sqrt(rr) * (1 + 0.02 * float(np.clip(rng.standard_normal(), -2.5, 2.5)))
        # S1 never swallows systole (at 150 bpm systole is ~0.18 s): keep >= 30 ms of it.
        d1 = min(p["s1_dur"] * (1 + 0.05 * float(rng.standard_normal())), sys - 0.03)
        d2 = p["s2_dur"] * (1 + 0.05 * float(rng.standard_normal()))
        s1 = _burst(d1, sr, tuple(p["s1_freqs"]), (1.0, 0.5), rng) * (1 + 0.1 * float(rng.standard_normal()))
        _add(heart, t, s1, sr)
        a2 = _burst(d2, sr, tuple(p["s2_freqs"]), (1.0, 0.6), rng) * p["s2_amp"] * (1 + 0.1 * float(rng.standard_normal()))
        _add(heart, t + sys, a2, sr)
        s2_end = t + sys + d2
        if "split_s2" in kinds:  # P2 after A2: a bit higher and softer; S2's state covers both
            p2 = _burst(d2 * 0.8, sr, tuple(f * 1.15 for f in p["s2_freqs"]), (1.0, 0.6), rng) * p["s2_amp"] * 0.7
            _add(heart, t + sys + p["split_gap"], p2, sr)
            s2_end = t + sys + p["split_gap"] + d2 * 0.8
        rr = max(rr, s2_end - t + 0.05)  # diastole never vanishes (fast rate, short RR draw, split S2)
        if "s3" in kinds and s2_end + p["s3_delay"] + 0.06 < t + rr:
            _add(heart, s2_end + p["s3_delay"], _burst(0.05, sr, (35.0,), (1.0,), rng) * 0.5, sr)
        if "systolic_murmur" in kinds:  # diamond: crescendo to murmur_peak of systole, then decrescendo
            a, b = t + d1 * 0.8, t + sys + 0.01
            i0, i1 = max(0, int(a * sr)), min(n, int(b * sr))
            if i1 > i0:
                u = (np.arange(i0, i1) / sr - a) / (b - a)
                pk = p["murmur_peak"]
                murmur_env[i0:i1] = np.maximum(murmur_env[i0:i1], np.where(u < pk, u / pk, (1 - u) / (1 - pk)))
        if "diastolic_murmur" in kinds:  # decrescendo from S2's end over ~60 % of diastole
            a, b = s2_end - 0.01, s2_end + 0.6 * (t + rr - s2_end)
            i0, i1 = max(0, int(a * sr)), min(n, int(b * sr))
            if i1 > i0:
                u = (np.arange(i0, i1) / sr - a) / (b - a)
                murmur_env[i0:i1] = np.maximum(murmur_env[i0:i1], np.exp(-3 * u) * (1 - u))
        segs += [Segment(t, t + d1, S1), Segment(t + d1, t + sys, SYSTOLE), Segment(t + sys, s2_end, S2),
                 Segment(s2_end, t + rr, DIASTOLE)]
        t += rr
    x = heart
    if kinds & {"systolic_murmur", "diastolic_murmur"}:
        x = x + p["murmur_amp"] * murmur_env * _band_noise(n, sr, rng, *p["murmur_band"])
    tt = np.arange(n) / sr
    resp = np.sin(2 * np.pi * p["breath_rate_hz"] * tt + p["breath_phase"])
    x = x * (1 + cfg.breathing_level * resp)
    x = x + cfg.breathing_level * np.maximum(resp, 0) ** 2 * _band_noise(n, sr, rng, 20, 120)
    for _ in range(int(rng.poisson(cfg.motion_rate * seconds))):
        dur = rng.uniform(0.05, 0.4)
        m = int(dur * sr)
        burst = _band_noise(m, sr, rng, 20, sr / 2 * 0.9) * np.hanning(m) * cfg.motion_level * rng.uniform(0.5, 1.5)
        _add(x, rng.uniform(0, seconds - dur), burst, sr)
    x = x + cfg.noise_level * rng.standard_normal(n)
    peak = float(np.max(np.abs(x)))
    x = x / peak * p["gain"] if peak > 0 else x
    # Touching segments after rounding: the next segment starts where this one ends, exactly.
    clipped = _clip_segments(segs, seconds)
    tiled = [Segment(clipped[i - 1].end if i else s.start, s.end, s.state) for i, s in enumerate(clipped)]
    return x.astype(np.float32), tiled


def generate(out: Path, cfg: PcgSynthConfig, progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Write the records into ``out`` (PhysioNet 2016 folders + .tsv annotations + pcg_synth.json)."""
    out = Path(out)
    labels = [NORMAL] * cfg.normal_records + [ABNORMAL] * cfg.abnormal_records
    order = np.random.default_rng([cfg.seed, 7]).permutation(len(labels))
    folders = SUBSETS[:cfg.subsets]
    refs: dict[str, list[str]] = {f: [] for f in folders}
    records: dict[str, Any] = {}
    for k, idx in enumerate(order):
        label = labels[int(idx)]
        folder = folders[k % len(folders)]
        rid = f"{folder[-1]}{len(refs[folder]) + 1:04d}"
        rng = np.random.default_rng([cfg.seed, int(idx)])
        p = record_params(cfg, label == ABNORMAL, rng)
        x, segs = synth_record(cfg, p, rng)
        write_wav(out / folder / f"{rid}.wav", x, cfg.sample_rate)
        write_tsv(out / folder / f"{rid}.tsv", segs)
        refs[folder].append(f"{rid},{label}")
        records[rid] = {"subset": folder, "label": label, "beats": sum(s.state == S1 for s in segs), **p}
        progress("PCG records", k + 1, len(labels))
    for folder, lines in refs.items():
        if lines:
            (out / folder / REFERENCE).write_text("\n".join(lines) + "\n")
    write_json(out / TRUTH, {"generator": "edgekws.tasks.pcg.synth", "config": asdict(cfg), "records": records})
    return {"records": len(labels), "normal": cfg.normal_records, "abnormal": cfg.abnormal_records,
            "subsets": [f for f in folders if refs[f]], "seconds": cfg.seconds, "sample_rate": cfg.sample_rate}
