"""Synthetic sound events written in the FSDKaggle2018 layout, with exact ground truth.

Layout written (the real dataset's, so the same loader reads both)::

    train.csv                                fname,label,manually_verified
    audio_train/<fname>.wav                  one event per file, 16-bit mono PCM
    test_post_competition_scoring_clips.csv  fname,label,usage
    audio_test/<fname>.wav
    synth_truth.json                         per file: label, event onset/offset (samples), class parameters

Why these classes: each family differs from the others in one property a log-mel
CRNN can see (harmonic lines at a pitch, a noise band, short broadband clicks, a
rising or falling sweep, a slow amplitude modulation, speech), and each class draws
its parameters at random within its own range, so a model must learn the family,
not one waveform. Every event sits between exact zeros: samples outside
``[onset, offset)`` are 0 in the file, which the ground truth states and a test checks.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgekws.audio import write_wav
from edgekws.errors import ConfigError
from edgekws.tasks.base import ProgressFn, no_progress
from edgekws.tasks.tagging_ctc.config import SynthConfig

TRAIN_CSV = "train.csv"
TEST_CSV = "test_post_competition_scoring_clips.csv"
TRUTH = "synth_truth.json"
PEAK = 0.5  # event peak amplitude before its gain: headroom for the composer's sums


@dataclass(frozen=True)
class EventClass:
    """A synthetic class: its name (the CSV label) and a renderer ``(n, rate, rng) -> (audio, params)``."""

    label: str
    family: str
    render: Callable[[int, int, np.random.Generator], tuple[np.ndarray, dict[str, float]]]


def render_tone(f_lo: float, f_hi: float, harmonics: int) -> Callable[..., tuple[np.ndarray, dict[str, float]]]:
    def render(n: int, rate: int, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, float]]:
        f0 = float(rng.uniform(f_lo, f_hi))
        t = np.arange(n) / rate
        # cos, not sin: the first sample of the event is non-zero, so its onset is exact in the file
        x = sum(np.cos(2 * np.pi * f0 * (h + 1) * t) / (h + 1) for h in range(harmonics))
        return np.asarray(x, np.float64), {"f0": f0}
    return render


def render_noise_band(f_lo: float, f_hi: float) -> Callable[..., tuple[np.ndarray, dict[str, float]]]:
    def render(n: int, rate: int, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, float]]:
        lo = float(rng.uniform(f_lo, (f_lo + f_hi) / 2))
        hi = float(rng.uniform((f_lo + f_hi) / 2, f_hi))
        spec = np.fft.rfft(rng.standard_normal(n))
        freqs = np.fft.rfftfreq(n, 1.0 / rate)
        spec[(freqs < lo) | (freqs > hi)] = 0.0
        return np.fft.irfft(spec, n), {"band_lo": lo, "band_hi": hi}
    return render


def render_clicks(n: int, rate: int, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, float]]:
    period = float(rng.uniform(0.06, 0.12))
    decay = float(rng.uniform(0.002, 0.005))
    t = np.arange(n) / rate
    phase = np.mod(t, period)
    return rng.standard_normal(n) * np.exp(-phase / decay), {"period_s": period, "decay_s": decay}


def render_knock(n: int, rate: int, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, float]]:
    f = float(rng.uniform(300, 700))
    decay = float(rng.uniform(0.03, 0.08))
    t = np.arange(n) / rate
    return np.cos(2 * np.pi * f * t) * np.exp(-t / decay), {"resonance": f, "decay_s": decay}


def render_chirp(up: bool) -> Callable[..., tuple[np.ndarray, dict[str, float]]]:
    def render(n: int, rate: int, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, float]]:
        lo, hi = float(rng.uniform(300, 700)), float(rng.uniform(2500, 4000))
        f_start, f_end = (lo, hi) if up else (hi, lo)
        t = np.arange(n) / rate
        dur = n / rate
        phase = 2 * np.pi * (f_start * t + (f_end - f_start) * t * t / (2 * dur))
        return np.cos(phase), {"f_start": f_start, "f_end": f_end}
    return render


def render_am_tone(n: int, rate: int, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, float]]:
    f = float(rng.uniform(1000, 1400))
    fm = float(rng.uniform(6, 12))
    t = np.arange(n) / rate
    return np.cos(2 * np.pi * f * t) * (0.55 + 0.45 * np.cos(2 * np.pi * fm * t)), {"carrier": f, "mod_hz": fm}


#: The catalogue; ``SynthConfig.classes`` takes its first N (speech is added by ``speech=True``).
CATALOGUE: tuple[EventClass, ...] = (
    EventClass("Tone_low", "tonal", render_tone(180.0, 300.0, 4)),
    EventClass("Noise_low", "noisy", render_noise_band(100.0, 700.0)),
    EventClass("Clicks", "impulsive", render_clicks),
    EventClass("Chirp_up", "chirp", render_chirp(True)),
    EventClass("Tone_high", "tonal", render_tone(1800.0, 2600.0, 1)),
    EventClass("Noise_high", "noisy", render_noise_band(3000.0, 6500.0)),
    EventClass("Chirp_down", "chirp", render_chirp(False)),
    EventClass("Knock", "impulsive", render_knock),
    EventClass("AM_tone", "modulated", render_am_tone),
)

SPEECH_WORDS = ("hello", "seven", "window", "bottle", "morning", "yellow", "purple", "garden")


def _speech_render(workdir: Path) -> Callable[..., tuple[np.ndarray, dict[str, float]]]:
    from edgekws.data.tts.espeak import NATIVE_RATE, run_espeak

    def render(n: int, rate: int, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, float]]:
        from edgekws.audio import resample

        k = int(rng.integers(len(SPEECH_WORDS)))
        speed, pitch = int(rng.integers(140, 200)), int(rng.integers(30, 70))
        x = run_espeak(SPEECH_WORDS[k], "en", speed, pitch, 100, workdir)
        x = resample(x, NATIVE_RATE, rate).astype(np.float64)
        nz = np.flatnonzero(np.abs(x) > 1e-3 * np.abs(x).max())
        x = x[nz[0]: nz[-1] + 1][:n]  # the spoken part, at most n samples
        return x, {"word": float(k), "speed": float(speed), "pitch": float(pitch)}
    return render


def classes_for(cfg: SynthConfig, workdir: Path | None = None) -> list[EventClass]:
    """The classes a config generates (first ``classes`` of the catalogue, the last one speech if asked)."""
    n_plain = cfg.classes - (1 if cfg.speech else 0)
    if n_plain > len(CATALOGUE):
        raise ConfigError(f"classes={cfg.classes}: the catalogue has {len(CATALOGUE)} synthetic classes"
                          f"{' + speech' if cfg.speech else ' (+1 with speech=true)'}")
    out = list(CATALOGUE[:n_plain])
    if cfg.speech:
        out.append(EventClass("Speech", "speech", _speech_render(workdir or Path("."))))
    return out


def event_envelope(n: int, rate: int) -> np.ndarray:
    """10 ms raised-cosine fades that start and end at 10 % (not 0), so the event's first and last
    samples carry signal and its onset/offset in the file are exact."""
    k = max(1, min(n // 4, int(0.01 * rate)))
    ramp = 0.1 + 0.9 * 0.5 * (1 - np.cos(np.pi * np.arange(k) / k))
    env = np.ones(n)
    env[:k] = ramp
    env[n - k:] = ramp[::-1]
    return env


def render_event(cls: EventClass, cfg: SynthConfig, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
    """One file's samples (float, exact zeros around the event) and its ground truth."""
    rate = cfg.sample_rate
    n = int(round(rng.uniform(cfg.min_event_s, cfg.max_event_s) * rate))
    x, params = cls.render(n, rate, rng)
    n = len(x)
    x = x * event_envelope(n, rate)
    x = PEAK * x / max(float(np.abs(x).max()), 1e-12)
    pad_a = int(rng.integers(0, int(cfg.max_pad_s * rate) + 1))
    pad_b = int(rng.integers(0, int(cfg.max_pad_s * rate) + 1))
    # the PCM value of the first/last event samples must not round to 0: the envelope keeps them >= 10 % of
    # the fade, but a waveform zero crossing could still land there, so nudge those two samples off zero
    for i in (0, n - 1):
        if abs(x[i]) * 32768 < 1:
            x[i] = np.copysign(2 / 32768, x[i] if x[i] != 0 else 1.0)
    audio = np.concatenate([np.zeros(pad_a), x, np.zeros(pad_b)])
    return audio, {"label": cls.label, "family": cls.family, "onset": pad_a, "offset": pad_a + n,
                   "n_samples": len(audio), "sample_rate": rate, "params": params}


def write_index(out: Path, train_rows: list[str], test_rows: list[str]) -> None:
    """FSDKaggle2018's two index CSVs from ``fname,label,<flag>`` rows (shared with :mod:`.real`, which
    writes real one-shots into the same layout)."""
    (out / TRAIN_CSV).write_text("fname,label,manually_verified\n" + "\n".join(train_rows) + "\n")
    (out / TEST_CSV).write_text("fname,label,usage\n" + "\n".join(test_rows) + "\n")


def generate(out: Path, cfg: SynthConfig, progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Write the dataset into ``out``; returns a summary (classes, file counts)."""
    import json
    import tempfile

    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="edgekws-tts-") as tmp:
        classes = classes_for(cfg, Path(tmp))
        truth: dict[str, Any] = {}
        jobs = [(split, c, i) for split, per in (("train", cfg.train_per_class), ("test", cfg.test_per_class))
                for c in classes for i in range(per)]
        rows: dict[str, list[str]] = {"train": [], "test": []}
        for done, (split, cls, i) in enumerate(jobs, start=1):
            # one generator per file, seeded by (seed, split, class, index): a file does not change when
            # other classes or counts change
            key = zlib.crc32(f"{split}/{cls.label}/{i}".encode())
            rng = np.random.default_rng([cfg.seed, key])
            audio, info = render_event(cls, cfg, rng)
            fname = f"{key:08x}.wav"
            folder = "audio_train" if split == "train" else "audio_test"
            write_wav(out / folder / fname, audio.astype(np.float32), cfg.sample_rate)
            truth[f"{folder}/{fname}"] = info
            if split == "train":
                rows["train"].append(f"{fname},{cls.label},{i % 2}")
            else:
                rows["test"].append(f"{fname},{cls.label},{'Public' if i % 3 else 'Private'}")
            progress("generating events", done, len(jobs))
    write_index(out, rows["train"], rows["test"])
    (out / TRUTH).write_text(json.dumps(truth, indent=1) + "\n")
    return {"classes": [c.label for c in classes], "train_files": len(rows["train"]),
            "test_files": len(rows["test"])}
