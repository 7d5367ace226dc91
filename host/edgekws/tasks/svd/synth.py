"""Generate the two svd sets in the Jamendo layout with exact vocal endpoints: speech over music, singing over music.

* ``pretrain/``: the artificial pre-training set (the transfer-learning recipe: plenty of
  cheap *speech* over instrumental music). espeak-ng phrases through the project's TTS
  module (:mod:`edgekws.data.tts`, cached) at random places over accompaniment.
* ``singing/``: the small target set. Legato sung phrases over the same kind of
  accompaniment *plus* a lead instrument playing melodies (harmonic, pitched, sustained:
  what a detector trained on speech mistakes for a voice). A note is either an espeak-ng
  word time-stretched and pitch-shifted onto the melody (librosa) or a harmonic source with
  vowel formants and vibrato.

Accompaniment is built from oscillators (no recordings): a chord progression as pads, an
arpeggio of plucked notes, a drum pattern (sine-sweep kick, noise snare, hi-hat). The vocal
mask is exact because the voice is mixed in by us: a frame is ``sing`` between the first and
last sample of a phrase above -40 dB of its peak.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from edgekws.errors import DatasetError
from edgekws.tasks.base import ProgressFn, no_progress
from edgekws.tasks.datasets import trim_silence
from edgekws.tasks.svd import jamendo
from edgekws.tasks.svd.config import SynthConfig

TTS_RATE = 16000
#: espeak-ng voices of the pre-training speech (accent+variant; men, women, Klatt variants).
SPEECH_VOICES = ("en", "en-us", "en-gb-x-rp", "en-us+f2", "en+m3", "en-gb-scotland+f4", "en+klatt2", "en-029+m5",
                 "en-us+f1", "en+klatt4")
#: Words a sung note is made of (open vowels: singers hold them).
SUNG_WORDS = ("la", "love", "oh", "day", "night", "you", "me", "so", "high", "away", "home", "more")
#: Vowel formants F1-F3 (Hz) of a sung /a e i o u/ (textbook averages, male/female middle).
VOWELS = ((750, 1200, 2600), (500, 1850, 2600), (320, 2300, 3000), (480, 900, 2550), (340, 800, 2400))
MAJOR = (0, 2, 4, 5, 7, 9, 11)
PROGRESSIONS = ((0, 7, 9, 5), (0, 5, 7, 5), (9, 5, 0, 7), (0, 9, 5, 7))  # I-V-vi-IV etc. as semitone roots
TRUTH = "synth_truth.json"
SPLITS = jamendo.SPLITS


def _harmonic(f0: np.ndarray, sr: int, n_harm: int, tilt: float, rng: np.random.Generator) -> np.ndarray:
    """Sum of harmonics of an F0 contour (Hz per sample), amplitude ``k**-tilt``, none above Nyquist."""
    phase = 2 * np.pi * np.cumsum(f0) / sr
    out = np.zeros_like(f0)
    for k in range(1, n_harm + 1):
        amp = k ** -tilt * (f0 * k < 0.45 * sr)
        out += amp * np.sin(k * phase + rng.uniform(0, 2 * np.pi))
    return out


def _env(n: int, sr: int, attack: float, release: float, decay: float | None = None) -> np.ndarray:
    t = np.arange(n) / sr
    e = np.minimum(1.0, t / max(attack, 1e-4)) * np.minimum(1.0, (n / sr - t) / max(release, 1e-4))
    if decay is not None:
        e *= np.exp(-t / decay)
    return np.clip(e, 0.0, 1.0)


def _midi_hz(m: float) -> float:
    return float(440.0 * 2 ** ((m - 69) / 12))


def _add(y: np.ndarray, x: np.ndarray, at: int) -> None:
    at = max(0, at)
    k = min(len(x), len(y) - at)
    if k > 0:
        y[at:at + k] += x[:k]


@dataclass(frozen=True)
class Song:
    """The musical frame of one clip: key, tempo, chord roots per bar (so voice and lead fit the harmony)."""

    key: int  # MIDI note of the tonic
    beat: float  # seconds
    chords: tuple[int, ...]  # semitone offsets of each bar's root from the key

    def chord_at(self, t: float) -> int:
        return self.chords[int(t / (4 * self.beat)) % len(self.chords)]


def draw_song(rng: np.random.Generator) -> Song:
    return Song(key=int(rng.integers(45, 57)), beat=60.0 / rng.uniform(80, 140),
                chords=PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))])


def accompaniment(song: Song, n: int, sr: int, rng: np.random.Generator, lead: bool) -> np.ndarray:
    """Pads + arpeggio + drums (each present with its own probability), and a lead melody when ``lead``."""
    y = np.zeros(n, np.float64)
    bar = 4 * song.beat
    parts = rng.random(3) < (0.9, 0.7, 0.7)
    if not parts.any():
        parts[0] = True
    t = 0.0
    while t < n / sr:
        root = song.key + song.chord_at(t)
        minor = song.chord_at(t) in (9, 2, 4)
        triad = (0, 3 if minor else 4, 7)
        if parts[0]:  # pad: the triad held for the bar
            m = int(bar * sr)
            for iv in triad:
                f = np.full(m, _midi_hz(root + iv))
                y[int(t * sr):int(t * sr) + m] += (0.25 * _harmonic(f, sr, 6, 1.5, rng) * _env(m, sr, 0.05, 0.1))[
                    : n - int(t * sr)]
        if parts[1]:  # arpeggio: eighth notes over the triad, an octave up, plucked
            step = song.beat / 2
            for j in range(8):
                m = int(step * 1.5 * sr)
                f = np.full(m, _midi_hz(root + 12 + triad[j % 3] + 12 * (j % 4 == 3)))
                _add(y, 0.2 * _harmonic(f, sr, 8, 1.0, rng) * _env(m, sr, 0.003, 0.02, 0.12), int((t + j * step) * sr))
        if parts[2]:  # drums: kick on 1 and 3, snare on 2 and 4, hi-hat on eighths
            for j in range(4):
                at = int((t + j * song.beat) * sr)
                if j % 2 == 0:
                    m = int(0.25 * sr)
                    f = 50 + 100 * np.exp(-np.arange(m) / (0.03 * sr))
                    _add(y, 0.8 * np.sin(2 * np.pi * np.cumsum(f) / sr) * _env(m, sr, 0.002, 0.01, 0.08), at)
                else:
                    m = int(0.2 * sr)
                    _add(y, 0.3 * rng.standard_normal(m) * _env(m, sr, 0.001, 0.01, 0.05), at)
                for h in range(2):
                    m = int(0.05 * sr)
                    hat = np.diff(rng.standard_normal(m + 1))  # differenced noise: a high-passed tick
                    _add(y, 0.08 * hat * _env(m, sr, 0.001, 0.005, 0.015), at + int(h * song.beat / 2 * sr))
        t += bar
    if lead:
        y += _lead(song, n, sr, rng)
    return y


def _lead(song: Song, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A lead instrument (organ/saw-like, no formants, no vibrato) playing melody notes over part of the clip."""
    y = np.zeros(n, np.float64)
    t = rng.uniform(0, 0.5 * n / sr)
    stop = rng.uniform(t + 1.0, n / sr + 1.0)
    tilt = rng.uniform(0.7, 1.6)
    while t < min(stop, n / sr):
        dur = song.beat * float(rng.choice([0.5, 1.0, 2.0]))
        m = int(dur * sr)
        note = song.key + 12 + song.chord_at(t) + MAJOR[int(rng.integers(7))]
        f = np.full(m, _midi_hz(note))
        _add(y, 0.35 * _harmonic(f, sr, 10, tilt, rng) * _env(m, sr, 0.01, 0.05), int(t * sr))
        t += dur
    return y


def formant_note(f0: np.ndarray, vowel: tuple[int, int, int], sr: int, rng: np.random.Generator) -> np.ndarray:
    """A sung vowel: harmonics of the F0 contour weighted by a three-formant envelope, plus a little breath."""
    phase = 2 * np.pi * np.cumsum(f0) / sr
    out = np.zeros_like(f0)
    bw = (90.0, 110.0, 160.0)
    for k in range(1, 40):
        fk = f0 * k
        if float(fk.min()) > 0.45 * sr:
            break
        gain = sum(a * np.exp(-0.5 * ((fk - fr) / b) ** 2) for a, fr, b in zip((1.0, 0.6, 0.3), vowel, bw, strict=True))
        out += (gain + 0.02) * k ** -0.6 * (fk < 0.45 * sr) * np.sin(k * phase)
    out += 0.01 * rng.standard_normal(len(f0)) * float(np.std(out))
    return out


def sung_phrase(song: Song, seconds: float, sr: int, rng: np.random.Generator,
                words: dict[str, np.ndarray], espeak_prob: float) -> np.ndarray:
    """Legato notes on the melody filling ``seconds``: formant vowels with vibrato or stretched espeak-ng words."""
    import librosa

    out: list[np.ndarray] = []
    t, total = 0.0, int(seconds * sr)
    prev = int(rng.integers(7))
    while sum(map(len, out)) < total:
        dur = min(song.beat * float(rng.choice([0.5, 1.0, 1.5, 2.0])), seconds - t)
        m = int(dur * sr)
        if m < int(0.08 * sr):
            break
        prev = int(np.clip(prev + rng.integers(-2, 3), 0, 9))
        midi = song.key + 7 + MAJOR[prev % 7] + 12 * (prev // 7)  # a scale step walk, a fifth above the tonic
        if words and rng.random() < espeak_prob:
            w = words[str(rng.choice(sorted(words)))]
            x = librosa.effects.time_stretch(w.astype(np.float32), rate=max(len(w) / m, 0.1), n_fft=512)
            # espeak-ng's voices speak near MIDI 48 (~130 Hz): shift by the melody's distance from it
            x = librosa.effects.pitch_shift(x, sr=sr, n_steps=float(np.clip(midi - 48, -6, 14)), n_fft=512)
            x = np.pad(x[:m], (0, max(0, m - len(x))))
        else:
            tt = np.arange(m) / sr
            vib = rng.uniform(0.2, 0.6) * np.sin(2 * np.pi * rng.uniform(4.5, 6.5) * tt) * np.minimum(1, tt / 0.25)
            f0 = 440.0 * 2 ** ((midi + vib - 69) / 12)
            x = formant_note(f0, VOWELS[int(rng.integers(len(VOWELS)))], sr, rng)
        x = x * _env(m, sr, 0.02, 0.02) / (np.std(x) + 1e-9)
        out.append(x)
        t += dur
    y = np.concatenate(out) if out else np.zeros(0)
    return y * _env(len(y), sr, 0.03, 0.06) if len(y) else y


def _place(n: int, lengths: list[int], min_gap: int, rng: np.random.Generator) -> list[int] | None:
    """Non-overlapping starts for segments of ``lengths`` in ``n`` samples, ``min_gap`` apart (None if they don't fit)."""
    free = n - sum(lengths) - min_gap * (len(lengths) + 1)
    if free < 0:
        return None
    cuts = np.sort(rng.uniform(0, free, len(lengths)))
    starts, used = [], 0
    for i, length in enumerate(lengths):
        s = int(cuts[i]) + used + min_gap * (i + 1)
        starts.append(s)
        used += length
    return starts


def mix(music: np.ndarray, voices: list[tuple[int, np.ndarray]], snr_db: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Music at RMS 0.1 plus each voice at ``snr_db`` over the music; returns (audio, sample-wise voice mask)."""
    music = music[:n] * (0.1 / (np.sqrt(np.mean(music[:n] ** 2)) + 1e-9))
    y = music.copy()
    mask = np.zeros(n, bool)
    for at, v in voices:
        a, b = trim_silence(v, threshold=1e-2)  # -40 dB under the phrase's peak: its vocal endpoints
        if b <= a:
            continue
        v = v[a:b]
        v = v * (0.1 * 10 ** (snr_db / 20) / (np.sqrt(np.mean(v ** 2)) + 1e-9))
        k = min(len(v), n - at)
        y[at:at + k] += v[:k]
        mask[at:at + k] = True
    peak = float(np.max(np.abs(y))) or 1.0
    return (y * min(1.0, 0.95 / peak)).astype(np.float32), mask


def _speech(texts: list[tuple[str, str, float, float]]) -> list[np.ndarray]:
    """espeak-ng audio (16 kHz) of (voice, text, rate, pitch) requests through the project's cached TTS."""
    import tempfile

    from edgekws.data.tts import TtsCache, Utterance, synthesize_cached

    utts = [Utterance("espeak", v, t, rate=r, pitch=p) for v, t, r, p in texts]
    with tempfile.TemporaryDirectory(prefix="edgekws-svd-") as work:
        return synthesize_cached(utts, TtsCache(), Path(work))


def _write_clip(root: Path, name: str, x: np.ndarray, mask: np.ndarray, sr: int) -> None:
    (root / "audio").mkdir(parents=True, exist_ok=True)
    sf.write(str(root / "audio" / f"{name}.wav"), x, sr, subtype="PCM_16")
    jamendo.write_lab(root / "labels" / f"{name}.lab", jamendo.segments_from_mask(mask, sr))


def _write_filelists(root: Path, names: dict[str, list[str]]) -> None:
    (root / "filelists").mkdir(parents=True, exist_ok=True)
    for split, ns in names.items():
        (root / "filelists" / split).write_text("".join(f"{n}.wav\n" for n in ns), encoding="utf-8")


def generate_pretrain(root: Path, cfg: SynthConfig, progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Speech over music, ``cfg.pretrain_clips`` per split; voice requests rendered in one cached batch."""
    from edgekws.data.synth import broad_unknown_words

    sr, n = cfg.sample_rate, int(cfg.clip_seconds * cfg.sample_rate)
    vocab = broad_unknown_words()
    plans: list[dict[str, Any]] = []
    for si, split in enumerate(SPLITS):
        for i in range(cfg.pretrain_clips[si]):
            rng = np.random.default_rng([cfg.seed, 1, si, i])
            k = int(rng.integers(1, 4))
            reqs = [(str(rng.choice(SPEECH_VOICES)), " ".join(rng.choice(vocab, int(rng.integers(2, 6)))),
                     float(np.round(rng.uniform(0.8, 1.3), 2)), float(np.round(rng.uniform(-0.8, 0.8), 2)))
                    for _ in range(k)]
            plans.append({"name": f"speech_{split}_{i:04d}", "split": split, "rng": rng, "reqs": reqs})
    audio = _speech([r for p in plans for r in p["reqs"]])
    pos, truth, names = 0, {}, {s: [] for s in SPLITS}
    for j, p in enumerate(plans):
        rng = p["rng"]
        phrases = [np.asarray(a, np.float64) for a in audio[pos:pos + len(p["reqs"])]]
        pos += len(p["reqs"])
        phrases = [ph[slice(*trim_silence(ph, 1e-2))][: n // 2] for ph in phrases if ph.size]
        starts = None
        while phrases and starts is None:
            starts = _place(n, [len(ph) for ph in phrases], int(0.3 * sr), rng)
            if starts is None:
                phrases = phrases[:-1]
        snr = float(rng.uniform(*cfg.voice_snr_db))
        x, mask = mix(accompaniment(draw_song(rng), n, sr, rng, lead=False),
                      list(zip(starts or [], phrases, strict=False)), snr, n)
        _write_clip(root, p["name"], x, mask, sr)
        names[p["split"]].append(p["name"])
        truth[p["name"]] = {"snr_db": round(snr, 2), "phrases": [list(r) for r in p["reqs"][:len(phrases)]],
                            "vocal_fraction": round(float(mask.mean()), 4)}
        progress("pretrain set (speech over music)", j + 1, len(plans))
    _write_filelists(root, names)
    (root / TRUTH).write_text(json.dumps({"kind": "speech over synthesised music", "clips": truth}, indent=1) + "\n")
    return {"clips": {s: len(v) for s, v in names.items()},
            "vocal_fraction": round(float(np.mean([t["vocal_fraction"] for t in truth.values()])), 4)}


def generate_singing(root: Path, cfg: SynthConfig, progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Sung phrases (formant vowels / stretched espeak-ng words) over music with a lead instrument."""
    sr, n = cfg.sample_rate, int(cfg.clip_seconds * cfg.sample_rate)
    words: dict[str, np.ndarray] = {}
    if cfg.espeak_note_prob > 0:
        reqs = [("en-us", w, 0.7, 0.0) for w in SUNG_WORDS]
        for w, a in zip(SUNG_WORDS, _speech(reqs), strict=True):
            a = np.asarray(a, np.float64)
            if a.size:
                words[w] = a[slice(*trim_silence(a, 1e-2))]
    if cfg.espeak_note_prob > 0 and not words:
        raise DatasetError("espeak-ng produced no audio for the sung words")
    truth, names = {}, {s: [] for s in SPLITS}
    total, done = sum(cfg.singing_clips), 0
    for si, split in enumerate(SPLITS):
        for i in range(cfg.singing_clips[si]):
            rng = np.random.default_rng([cfg.seed, 2, si, i])
            song = draw_song(rng)
            lengths = [int(rng.uniform(1.5, 3.5) * sr) for _ in range(int(rng.integers(1, 4)))]
            starts = _place(n, lengths, int(0.4 * sr), rng)
            while starts is None:  # drop phrases until the rest fit the clip
                lengths = lengths[:-1] if len(lengths) > 1 else [n // 2]
                starts = _place(n, lengths, int(0.4 * sr), rng)
            phrases = [sung_phrase(song, length / sr, sr, rng, words, cfg.espeak_note_prob) for length in lengths]
            snr = float(rng.uniform(*cfg.voice_snr_db))
            x, mask = mix(accompaniment(song, n, sr, rng, lead=True), list(zip(starts, phrases, strict=False)), snr, n)
            name = f"sing_{split}_{i:04d}"
            _write_clip(root, name, x, mask, sr)
            names[split].append(name)
            truth[name] = {"snr_db": round(snr, 2), "key": song.key, "vocal_fraction": round(float(mask.mean()), 4)}
            done += 1
            progress("singing set (sung phrases over music + lead)", done, total)
    _write_filelists(root, names)
    (root / TRUTH).write_text(json.dumps({"kind": "synthetic singing over synthesised music with a lead instrument",
                                          "clips": truth}, indent=1) + "\n")
    return {"clips": {s: len(v) for s, v in names.items()},
            "vocal_fraction": round(float(np.mean([t["vocal_fraction"] for t in truth.values()])), 4)}


def generate(out: Path, cfg: SynthConfig, progress: ProgressFn = no_progress) -> dict[str, Any]:
    """``edgekws task svd data``: ``out/pretrain`` and ``out/singing``, both in the Jamendo layout."""
    return {"pretrain": generate_pretrain(Path(out) / "pretrain", cfg, progress),
            "singing": generate_singing(Path(out) / "singing", cfg, progress)}
