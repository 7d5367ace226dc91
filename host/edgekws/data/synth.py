"""Synthetic keyword dataset in the Speech Commands layout, spoken by offline TTS engines.

Why: the real dataset is 2.3 GB and cannot be fetched at test or demo time;
a synthetic set with the same layout exercises every stage (loader, frontend,
training, pruning, quantization, device accuracy) end to end in minutes. Issue 12
showed a model trained on one synthesiser does not hear real people (45 %), so
the clips now come from several engines (:mod:`edgekws.data.tts`: espeak-ng,
flite, festival) and every clip gets its own speaker and channel.

What varies per clip: the engine and voice, speaking rate and pitch, and (with
``channel``) speed, pitch and formant (VTLP) perturbation, a simulated room, a
cheap microphone's band and EQ, loudness, the word's position in the 1 s window,
and background noise at a random SNR (the dataset's own ``_background_noise_``
recordings when ``noise_dir`` is given, synthetic noise otherwise). A *speaker*
is an engine voice (espeak-ng: voice+variant; flite/festival: voice x
``virtual_speakers`` fixed perturbation settings); its id is the ``<speaker>``
part of ``<speaker>_nohash_<n>.wav``, so the dataset's hash rule keeps each
synthetic speaker in one split, and the written ``validation_list.txt`` /
``testing_list.txt`` agree with that rule.

Determinism: every clip's parameters come from a generator seeded by
``(seed, word, clip)``, the engines are deterministic (and their raw output is
cached by request), and resampling, filtering and mixing are plain numpy/scipy,
so the same seed writes byte-identical files whatever the number of workers and
whether the TTS cache was warm.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import multiprocessing
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from edgekws.data.augment import (
    ChannelConfig,
    cut_segment,
    microphone,
    resample_by,
    reverberate,
    synthetic_rir,
    vtlp,
)
from edgekws.data.speech_commands import (
    BACKGROUND_NOISE_DIR,
    KEYWORDS,
    TESTING_LIST,
    VALIDATION_LIST,
    which_set,
)
from edgekws.data.tts import ENGINE_NAMES, TtsCache, Utterance, get_engine, synthesize_cached
from edgekws.errors import DatasetError

UNKNOWN_WORDS: tuple[str, ...] = (
    "bed", "bird", "cat", "dog", "happy", "house", "marvin", "sheila", "tree", "wow",
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
)
VOICES: tuple[str, ...] = (
    "en", "en-us", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd", "en-029", "en-us-nyc",
)
VARIANTS: tuple[str, ...] = (
    "", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5",
    "klatt", "klatt2", "klatt3", "klatt4", "Andy", "Annie", "adam", "anika", "aunty", "belinda",
    "david", "edward", "grandma", "grandpa", "john", "linda", "max", "paul", "robert", "steph",
    "travis", "victor", "zac",
)
# Babble must not contain any keyword or unknown word, or the noise itself
# would carry a label.
BABBLE_WORDS: tuple[str, ...] = (
    "the", "weather", "morning", "coffee", "table", "window", "music", "people", "always", "maybe",
    "because", "number", "garden", "yellow", "river", "paper", "little", "market", "station", "water",
    "evening", "kitchen", "doctor", "summer", "winter", "minute", "letter", "city", "about", "again",
)
NOISE_KINDS: tuple[str, ...] = ("white_noise", "pink_noise", "brown_noise", "hum", "babble")
ESPEAK_RATE = 22050
MANIFEST = "synth_config.json"

ProgressFn = Callable[[int, int], None]


DEFAULT_ENGINE_WEIGHT: dict[str, float] = {"espeak": 2.0, "flite": 1.0, "festival": 1.0, "piper": 1.0}
WORD_LIST_DIR = Path(__file__).resolve().parent / "words"


def broad_unknown_words(exclude: tuple[str, ...] = KEYWORDS) -> tuple[str, ...]:
    """The shipped list of ~500 common short English words for the ``_unknown_`` class.

    Why: the 12-class task's ``_unknown_`` is "any other word"; twenty words teach the model
    twenty exceptions, hundreds teach it the class. The list (``words/unknown_words.txt``,
    written for this project) holds common words only and leaves out the keywords and their
    homophones (no/know, right/write, off/of, for/four are kept apart by ``exclude``).
    """
    path = WORD_LIST_DIR / "unknown_words.txt"
    words = []
    for line in path.read_text(encoding="utf-8").splitlines():
        w = line.split("#", 1)[0].strip().lower()
        if w and w not in exclude and w not in words:
            words.append(w)
    return tuple(words)


@dataclass(frozen=True)
class SynthConfig:
    """Everything that decides the synthetic dataset's content (saved as ``synth_config.json``).

    ``unknown_per_word`` defaults to a quarter of ``per_word``: the 12-class
    task keeps only ~10 % unknown, so many more unknown clips would only cost
    time, while twenty different words still give the class its variety.
    ``engines`` / ``engine_weights``: which TTS engines speak, and each one's share of every
    word's clips (default weights: espeak 2, flite 1, festival 1 -- the mix that scored best on
    real speech in issue 12's probes). ``virtual_speakers``: speakers made from each
    flite/festival voice (each with its own fixed rate, pitch and formant offsets), so the
    few voices still spread over the three splits. ``channel``: per-clip speaker/channel
    perturbation ranges (None = off). ``noise_dir``: a folder of real background recordings
    (e.g. the dataset's ``_background_noise_``); missing or empty = synthetic noise, with a note.
    """

    per_word: int = 200
    unknown_per_word: int | None = None
    seed: int = 0
    words: tuple[str, ...] = KEYWORDS
    unknown_words: tuple[str, ...] = UNKNOWN_WORDS
    voices: tuple[str, ...] = VOICES
    variants: tuple[str, ...] = VARIANTS
    engines: tuple[str, ...] = ("espeak",)
    engine_weights: tuple[float, ...] = ()
    virtual_speakers: int = 16
    channel: ChannelConfig | None = None
    noise_dir: str | None = None
    speed_wpm: tuple[int, int] = (120, 220)
    pitch: tuple[int, int] = (20, 80)
    amplitude: tuple[int, int] = (40, 150)
    max_shift_ms: float = 250.0
    noise_probability: float = 0.8
    snr_db: tuple[float, float] = (5.0, 40.0)
    noise_seconds: float = 30.0
    validation_percentage: float = 10.0
    testing_percentage: float = 10.0
    sample_rate: int = 16000

    def __post_init__(self) -> None:
        for name in ("words", "unknown_words", "voices", "variants", "speed_wpm", "pitch", "amplitude", "snr_db",
                     "engines", "engine_weights"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if isinstance(self.channel, dict):
            object.__setattr__(self, "channel", ChannelConfig.from_dict(self.channel))
        if self.per_word < 1:
            raise DatasetError(f"per_word must be >= 1, got {self.per_word}")
        if self.unknown_per_word is not None and self.unknown_per_word < 0:
            raise DatasetError(f"unknown_per_word must be >= 0, got {self.unknown_per_word}")
        if not self.words or not self.voices:
            raise DatasetError("words and voices must not be empty")
        overlap = set(self.words) & set(self.unknown_words)
        if overlap:
            raise DatasetError(f"words both keyword and unknown: {', '.join(sorted(overlap))}")
        if not 0.0 <= self.noise_probability <= 1.0:
            raise DatasetError("noise_probability must be in [0, 1]")
        if self.noise_seconds < 1.0:
            raise DatasetError("noise_seconds must be at least 1")
        if not self.engines:
            raise DatasetError("engines must not be empty")
        for e in self.engines:
            if e not in ENGINE_NAMES:
                raise DatasetError(f"unknown TTS engine {e!r} (known: {', '.join(ENGINE_NAMES)})")
        if len(set(self.engines)) != len(self.engines):
            raise DatasetError("engines must not repeat")
        if self.engine_weights and (len(self.engine_weights) != len(self.engines)
                                    or min(self.engine_weights) < 0 or sum(self.engine_weights) <= 0):
            raise DatasetError("engine_weights needs one non-negative weight per engine (not all zero)")
        if self.virtual_speakers < 1:
            raise DatasetError(f"virtual_speakers must be >= 1, got {self.virtual_speakers}")

    @property
    def unknown_count(self) -> int:
        """Clips per unknown word."""
        return self.unknown_per_word if self.unknown_per_word is not None else max(1, self.per_word // 4)

    @property
    def num_clips(self) -> int:
        """Word clips the config writes (noise files not counted)."""
        return len(self.words) * self.per_word + len(self.unknown_words) * self.unknown_count

    @property
    def weights(self) -> tuple[float, ...]:
        """Each engine's share (normalised to sum 1)."""
        w = self.engine_weights or tuple(DEFAULT_ENGINE_WEIGHT[e] for e in self.engines)
        total = float(sum(w))
        return tuple(float(v) / total for v in w)

    def to_dict(self) -> dict:
        """JSON-able dict (tuples as lists)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, d: dict) -> SynthConfig:
        """Inverse of :meth:`to_dict`."""
        extra = set(d) - {f.name for f in dataclasses.fields(cls)}
        if extra:
            raise DatasetError(f"unknown SynthConfig keys: {', '.join(sorted(extra))}")
        return cls(**d)


@dataclass(frozen=True)
class ClipSpec:
    """All parameters of one clip, fixed before any audio is made (so workers are stateless).

    ``utt`` is the raw TTS request (cached by its own key); ``seed`` drives every per-clip
    draw made while rendering (channel, noise segment, floor noise).
    """

    relpath: str
    word: str
    utt: Utterance
    speaker: str
    seed: int
    shift: int
    gain: float
    noise_index: int
    snr_db: float | None


@dataclass(frozen=True)
class SynthResult:
    """What a synth run did, and how fast."""

    out: Path
    num_clips: int
    seconds: float
    skipped: bool
    notes: tuple[str, ...] = ()

    @property
    def clips_per_second(self) -> float:
        """Clip throughput of this run (0 when it was skipped)."""
        return self.num_clips / self.seconds if self.seconds > 0 and not self.skipped else 0.0


def speaker_id(voice: str) -> str:
    """Stable 8-hex-digit speaker id of a voice+variant, as in the real file names."""
    return hashlib.sha1(voice.encode("utf-8")).hexdigest()[:8]


@dataclass(frozen=True)
class Speaker:
    """One synthetic speaker: an engine voice plus (for flite/festival) a virtual-speaker index."""

    engine: str
    voice: str
    index: int = 0

    @property
    def id(self) -> str:
        """espeak-ng keeps its historical id (the voice string); others hash engine:voice#index."""
        return speaker_id(self.voice if self.engine == "espeak" else f"{self.engine}:{self.voice}#{self.index}")


def _voices(cfg: SynthConfig) -> list[str]:
    return [v if not var else f"{v}+{var}" for v in cfg.voices for var in cfg.variants]


def _speakers(cfg: SynthConfig, engine: str) -> list[Speaker]:
    if engine == "espeak":
        return [Speaker("espeak", v) for v in _voices(cfg)]
    return [Speaker(engine, v, k) for v in get_engine(engine).voices() for k in range(cfg.virtual_speakers)]


def _speakers_by_split(cfg: SynthConfig, engine: str = "espeak") -> dict[str, list[Speaker]]:
    out: dict[str, list[Speaker]] = {"training": [], "validation": [], "testing": []}
    for spk in _speakers(cfg, engine):
        out[which_set(spk.id, cfg.validation_percentage, cfg.testing_percentage)].append(spk)
    for split, voices in out.items():
        if not voices and (split == "training" or getattr(cfg, f"{split}_percentage") > 0):
            raise DatasetError(f"no synthetic {engine} speaker falls in the {split} split; "
                               "add voices, variants or virtual speakers")
    return out


def _split_slots(n: int, cfg: SynthConfig, rng: np.random.Generator) -> list[str]:
    """Which split each of a word's ``n`` clips goes to: exact shares, at least one each when n >= 3."""
    n_val = int(round(n * cfg.validation_percentage / 100.0))
    n_test = int(round(n * cfg.testing_percentage / 100.0))
    if n >= 3:
        n_val = max(n_val, 1 if cfg.validation_percentage > 0 else 0)
        n_test = max(n_test, 1 if cfg.testing_percentage > 0 else 0)
    n_val = min(n_val, n)
    n_test = min(n_test, n - n_val)
    slots = ["validation"] * n_val + ["testing"] * n_test + ["training"] * (n - n_val - n_test)
    return [slots[i] for i in rng.permutation(n)]


def _engine_slots(n: int, weights: tuple[float, ...], rng: np.random.Generator) -> list[int]:
    """Engine index of each of a word's ``n`` clips: the weights' exact shares (largest remainder, ties at random)."""
    quota = np.asarray(weights) * n
    counts = np.floor(quota).astype(int)
    rest = n - int(counts.sum())
    if rest > 0:
        order = np.lexsort((rng.random(len(weights)), -(quota - counts)))
        counts[order[:rest]] += 1
    slots = [i for i, c in enumerate(counts) for _ in range(int(c))]
    return [slots[i] for i in rng.permutation(n)]


def _quant(v: float, step: float) -> float:
    """Round to a grid, so nearby requests share one cached utterance."""
    return round(round(v / step) * step, 4)


def plan_clips(cfg: SynthConfig) -> list[ClipSpec]:
    """Every clip's parameters, in a fixed order (keywords, then unknown words)."""
    speakers = {e: _speakers_by_split(cfg, e) for e in cfg.engines}
    supports_pitch = {e: get_engine(e).supports_pitch for e in cfg.engines}
    specs: list[ClipSpec] = []
    all_words = [(w, cfg.per_word) for w in cfg.words] + [(w, cfg.unknown_count) for w in cfg.unknown_words]
    max_shift = int(round(cfg.max_shift_ms * cfg.sample_rate / 1000.0))
    for word_no, (word, count) in enumerate(all_words):
        slots = _split_slots(count, cfg, np.random.default_rng([cfg.seed, word_no, 1 << 20]))
        engines = _engine_slots(count, cfg.weights, np.random.default_rng([cfg.seed, word_no, 1 << 21]))
        per_speaker: dict[str, int] = {}
        for k in range(count):
            rng = np.random.default_rng([cfg.seed, word_no, k])
            engine = cfg.engines[engines[k]]
            pool = speakers[engine][slots[k]]
            spk = pool[int(rng.integers(0, len(pool)))]
            j = per_speaker.get(spk.id, 0)
            per_speaker[spk.id] = j + 1
            # A speaker keeps a base pitch and rate; each clip jitters around it.
            srng = np.random.default_rng(int(spk.id, 16))
            if engine == "espeak":
                base_rate = srng.integers(cfg.speed_wpm[0], cfg.speed_wpm[1] + 1) / 175.0
                base_pitch = (srng.integers(cfg.pitch[0], cfg.pitch[1] + 1) - 50) / 40.0
            else:
                base_rate = srng.uniform(0.85, 1.2)
                base_pitch = srng.uniform(-0.8, 0.8)
            rate = _quant(float(np.clip(base_rate * rng.uniform(0.9, 1.1), 0.5, 2.5)), 0.02)
            pitch = _quant(float(np.clip(base_pitch + rng.uniform(-0.2, 0.2), -1, 1)), 0.05)
            if not supports_pitch[engine]:
                pitch = 0.0
            gain = float(rng.uniform(cfg.amplitude[0], cfg.amplitude[1] + 1)) / 100.0
            shift = int(rng.integers(-max_shift, max_shift + 1)) if max_shift > 0 else 0
            noisy = rng.uniform() < cfg.noise_probability
            snr = float(rng.uniform(cfg.snr_db[0], cfg.snr_db[1])) if noisy else None
            specs.append(ClipSpec(
                relpath=f"{word}/{spk.id}_nohash_{j}.wav", word=word,
                utt=Utterance(engine, spk.voice, word, rate, pitch), speaker=spk.id,
                seed=int(rng.integers(0, 2**31 - 1)), shift=shift, gain=gain,
                noise_index=int(rng.integers(0, 1 << 16)), snr_db=snr,
            ))
    return specs


# --- espeak-ng ------------------------------------------------------------------------------------

def espeak_binary() -> str:
    """Path of espeak-ng, or a one-line DatasetError saying how to get it."""
    from edgekws.data.tts.espeak import binary

    return binary()


def espeak(text: str, voice: str, speed: int, pitch: int, amplitude: int, workdir: Path) -> np.ndarray:
    """Speak ``text`` with espeak-ng; float32 mono at espeak's native 22050 Hz (used for babble noise)."""
    from edgekws.data.tts.espeak import run_espeak

    return run_espeak(text, voice, speed, pitch, amplitude, workdir)


def to_16k(x: np.ndarray, rate: int = ESPEAK_RATE, target: int = 16000) -> np.ndarray:
    """Polyphase resampling (22050 -> 16000 is 320/441), float32."""
    g = np.gcd(rate, target)
    return resample_poly(x.astype(np.float64), target // g, rate // g).astype(np.float32)


def trim(x: np.ndarray, rel_threshold: float = 0.02) -> np.ndarray:
    """Drop espeak's leading/trailing silence (below ``rel_threshold`` of the peak)."""
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak == 0.0:
        return x[:0]
    idx = np.flatnonzero(np.abs(x) >= rel_threshold * peak)
    return x[idx[0] : idx[-1] + 1]


def place(x: np.ndarray, n: int, shift: int) -> np.ndarray:
    """Put a word into an ``n``-sample window, centred and moved by ``shift`` (clamped to fit)."""
    out = np.zeros(n, dtype=np.float32)
    if x.shape[0] >= n:
        start = (x.shape[0] - n) // 2
        out[:] = x[start : start + n]
        return out
    room = n - x.shape[0]
    offset = int(np.clip(room // 2 + shift, 0, room))
    out[offset : offset + x.shape[0]] = x
    return out


def add_noise_snr(x: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """Mix ``noise`` so that speech power / noise power is ``snr_db`` (no clipping here)."""
    active = x[np.abs(x) > 0]
    p_sig = float(np.mean(active.astype(np.float64) ** 2)) if active.size else 0.0
    p_noise = float(np.mean(noise.astype(np.float64) ** 2))
    if p_sig == 0.0 or p_noise == 0.0:
        return x.astype(np.float32)
    gain = np.sqrt(p_sig / (p_noise * 10.0 ** (snr_db / 10.0)))
    return (x + gain * noise).astype(np.float32)


# --- background noise ------------------------------------------------------------------------------

def _shaped_noise(n: int, rng: np.random.Generator, exponent: float) -> np.ndarray:
    """Gaussian noise with power spectrum ~ 1/f**exponent (0 white, 1 pink, 2 brown)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n)
    f[0] = f[1]
    spec *= f ** (-exponent / 2.0)
    spec[0] = 0.0
    return np.fft.irfft(spec, n)


def _normalize_rms(x: np.ndarray, rms: float) -> np.ndarray:
    cur = float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))
    y = x * (rms / cur) if cur > 0 else x
    return np.clip(y, -1.0, 1.0).astype(np.float32)


def make_noise(kind: str, seconds: float, sample_rate: int, seed: int, workdir: Path) -> np.ndarray:
    """One background recording: white/pink/brown noise, mains hum, or espeak babble."""
    n = int(round(seconds * sample_rate))
    rng = np.random.default_rng([seed, NOISE_KINDS.index(kind)])
    if kind == "white_noise":
        return _normalize_rms(rng.standard_normal(n), 0.1)
    if kind == "pink_noise":
        return _normalize_rms(_shaped_noise(n, rng, 1.0), 0.1)
    if kind == "brown_noise":
        return _normalize_rms(_shaped_noise(n, rng, 2.0), 0.1)
    if kind == "hum":
        t = np.arange(n) / sample_rate
        f0 = 50.0 if rng.uniform() < 0.5 else 60.0
        x = np.zeros(n)
        for h in range(1, 9):
            x += (0.8 ** (h - 1)) * np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 2 * np.pi))
        x *= 1.0 + 0.1 * np.sin(2 * np.pi * 0.3 * t)
        x += 0.05 * rng.standard_normal(n)
        return _normalize_rms(x, 0.05)
    if kind == "babble":
        x = np.zeros(n)
        voices = [f"{v}+{var}" if var else v for v in VOICES for var in ("", "m3", "f2", "m1", "f4")]
        for _ in range(6):
            words = [BABBLE_WORDS[i] for i in rng.integers(0, len(BABBLE_WORDS), size=int(seconds * 3) + 8)]
            voice = voices[int(rng.integers(0, len(voices)))]
            talk = to_16k(espeak(" ".join(words), voice, int(rng.integers(140, 200)),
                                 int(rng.integers(20, 80)), 100, workdir), target=sample_rate)
            talk = np.resize(talk, n) if talk.size else np.zeros(n)
            x += float(rng.uniform(0.5, 1.0)) * np.roll(talk, int(rng.integers(0, n)))
        return _normalize_rms(x, 0.08)
    raise DatasetError(f"unknown noise kind {kind!r}; use one of {', '.join(NOISE_KINDS)}")


# --- rendering -------------------------------------------------------------------------------------

def _atomic_write_wav(path: Path, x: np.ndarray, sample_rate: int) -> None:
    # edgekws.audio.write_wav writes to a hidden temp file and renames it, so a
    # killed run never leaves a truncated clip that the loader would pick up.
    from edgekws.audio import write_wav

    write_wav(path, x, sample_rate)


def perturb_speaker(raw: np.ndarray, spec: ClipSpec, ch: ChannelConfig, rng: np.random.Generator,
                    sample_rate: int) -> np.ndarray:
    """Speed, pitch and formant perturbation of a raw utterance.

    The speaker (from its id) keeps fixed pitch and vocal-tract offsets; each clip jitters around
    them. Pitch shift and VTLP share one STFT: resampling by ``r`` moves pitch and formants by
    ``r``, a warp by ``alpha / r`` then puts the formants where this speaker's vocal tract wants them.
    """
    srng = np.random.default_rng(int(spec.speaker, 16) ^ 0x5EED)
    base_st = srng.uniform(*ch.pitch_semitones)
    base_alpha = srng.uniform(*ch.vtlp)
    st = float(np.clip(base_st + rng.uniform(-1.0, 1.0), *ch.pitch_semitones))
    alpha = float(np.clip(base_alpha * rng.uniform(0.97, 1.03), *ch.vtlp))
    r = 2.0 ** (st / 12.0)
    x = vtlp(resample_by(raw, r), alpha / r, sample_rate)
    return resample_by(x, float(rng.uniform(*ch.speed)))


def render_clip(spec: ClipSpec, raw: np.ndarray, noises: list[np.ndarray], cfg: SynthConfig) -> np.ndarray:
    """The final 1 s clip of a spec (float32 [sample_rate]) from its raw 16 kHz utterance."""
    sr = cfg.sample_rate
    rng = np.random.default_rng(spec.seed)
    ch = cfg.channel
    speech = perturb_speaker(raw, spec, ch, rng, sr) if ch is not None else np.asarray(raw, np.float32)
    x = place(trim(speech), sr, spec.shift) * np.float32(spec.gain)
    if ch is not None and rng.uniform() < ch.reverb_probability:
        x = reverberate(x, synthetic_rir(float(rng.uniform(*ch.rt60_s)), float(rng.uniform(*ch.drr_db)), rng, sr))
    if spec.snr_db is not None and noises:
        noise = cut_segment(noises[spec.noise_index % len(noises)], sr, rng)
        x = add_noise_snr(x, noise, spec.snr_db)
    if ch is not None:
        # the microphone hears the room's noise too, so its band and EQ come after the mix
        x = microphone(x, ch, rng, sr)
    # A microphone never records digital zero: a faint floor (-80..-60 dBFS)
    # keeps the model from keying on exact-zero padding around the word.
    x = x + np.float32(rng.uniform(1e-4, 1e-3)) * rng.standard_normal(sr).astype(np.float32)
    peak = float(np.max(np.abs(x)))
    if ch is not None and peak > 0:
        x = x * np.float32(10.0 ** (rng.uniform(*ch.gain_db) / 20.0) / peak)
    elif peak > 0.99:
        # Scale down instead of clipping: a loud voice plus noise must not turn
        # into square waves the real dataset does not contain.
        x = x * (0.99 / peak)
    return x.astype(np.float32)


_WORKER: dict = {}


def _init_worker(out: str, noise_paths: list[str], cfg_dict: dict, cache_root: str) -> None:
    _WORKER["out"] = Path(out)
    _WORKER["noises"] = [sf.read(p, dtype="float32")[0] for p in noise_paths]
    _WORKER["cfg"] = SynthConfig.from_dict(cfg_dict)
    _WORKER["cache"] = TtsCache(cache_root)
    _WORKER["workdir"] = Path(tempfile.mkdtemp(prefix="edgekws-tts-"))


def _tts_work(utts: list[Utterance]) -> int:
    synthesize_cached(utts, _WORKER["cache"], _WORKER["workdir"])
    return len(utts)


def _work(spec: ClipSpec) -> str:
    cfg = _WORKER["cfg"]
    raw = synthesize_cached([spec.utt], _WORKER["cache"], _WORKER["workdir"])[0]
    x = render_clip(spec, raw, _WORKER["noises"], cfg)
    _atomic_write_wav(_WORKER["out"] / spec.relpath, x, cfg.sample_rate)
    return spec.relpath


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _prepare_out(out: Path, cfg: SynthConfig, force: bool) -> bool:
    """True when ``out`` already holds exactly this dataset (nothing to do)."""
    if out.exists() and not out.is_dir():
        raise DatasetError(f"output path {out} exists and is not a directory")
    manifest = out / MANIFEST
    if manifest.is_file() and not force:
        try:
            same = json.loads(manifest.read_text(encoding="utf-8")).get("config") == cfg.to_dict()
        except (OSError, json.JSONDecodeError):
            same = False
        if same:
            return True
        raise DatasetError(f"{out} holds a different synthetic dataset (use another --out, or --force)")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise DatasetError(f"output directory {out} is not empty (use another --out, or --force)")
    if force and out.is_dir():
        # Only what this command writes is removed, never anything else in the folder.
        for name in (*cfg.words, *cfg.unknown_words, BACKGROUND_NOISE_DIR):
            shutil.rmtree(out / name, ignore_errors=True)
        for name in (VALIDATION_LIST, TESTING_LIST, MANIFEST):
            (out / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    return False


def real_noise_files(noise_dir: str | Path | None) -> list[Path]:
    """The ``.wav`` recordings of a background-noise folder (sorted), or [] when it is absent/empty."""
    if noise_dir is None:
        return []
    d = Path(noise_dir)
    return sorted(p for p in d.glob("*.wav") if p.is_file()) if d.is_dir() else []


def _write_noises(out: Path, cfg: SynthConfig, workdir: Path, notes: list[str]) -> list[str]:
    """Write the dataset's ``_background_noise_`` folder; real recordings when ``noise_dir`` has any."""
    paths = []
    real = real_noise_files(cfg.noise_dir)
    if cfg.noise_dir is not None and not real:
        notes.append(f"note: no background recordings in {cfg.noise_dir}; using synthetic noise instead")
    for src in real:
        x, rate = sf.read(str(src), dtype="float32", always_2d=False)
        from edgekws.data.tts import to_rate

        path = out / BACKGROUND_NOISE_DIR / src.name
        _atomic_write_wav(path, np.clip(to_rate(x, int(rate), cfg.sample_rate), -1.0, 1.0), cfg.sample_rate)
        paths.append(str(path))
    if not real:
        for kind in NOISE_KINDS:
            path = out / BACKGROUND_NOISE_DIR / f"{kind}.wav"
            _atomic_write_wav(path, make_noise(kind, cfg.noise_seconds, cfg.sample_rate, cfg.seed, workdir),
                              cfg.sample_rate)
            paths.append(str(path))
    return paths


def synthesize_dataset(
    out: str | Path,
    cfg: SynthConfig | None = None,
    *,
    jobs: int = 2,
    force: bool = False,
    progress: ProgressFn | None = None,
    tts_cache: str | Path | None = None,
) -> SynthResult:
    """Write a synthetic Speech Commands-layout dataset into ``out``.

    ``jobs`` worker processes (capped at 2: the machines this runs on are
    small) render clips; ``jobs=1`` renders in-process. Re-running with the
    same config on a finished folder does nothing (``skipped=True``).
    ``tts_cache``: where raw utterances are cached (default ``~/.cache/edgekws/tts``).
    Progress counts the raw utterances still to synthesise, then the clips.
    """
    cfg = cfg or SynthConfig()
    out = Path(out)
    for name in cfg.engines:
        get_engine(name).check()
    espeak_binary()  # babble noise
    if _prepare_out(out, cfg, force):
        return SynthResult(out, cfg.num_clips, 0.0, skipped=True)
    t0 = time.perf_counter()
    specs = plan_clips(cfg)
    cache = TtsCache(tts_cache)
    notes: list[str] = []
    workdir = Path(tempfile.mkdtemp(prefix="edgekws-tts-"))
    try:
        noise_paths = _write_noises(out, cfg, workdir, notes)
        # Workers read the noise back from the WAV files, so in-process and
        # pooled runs mix exactly the same (int16-rounded) samples.
        missing = sorted({s.utt for s in specs if not cache.path(s.utt).is_file()},
                         key=lambda u: (u.engine, u.voice, u.text, u.rate, u.pitch))
        # festival starts slowly: hand it long batches; the others are one process per word anyway
        chunks = [missing[i : i + 48] for i in range(0, len(missing), 48)]
        jobs = max(1, min(int(jobs), 2, len(specs)))
        total = len(missing) + len(specs)
        done = 0
        init = (str(out), noise_paths, cfg.to_dict(), str(cache.root))
        if jobs == 1:
            _init_worker(*init)
            for chunk in chunks:
                done += _tts_work(chunk)
                if progress is not None:
                    progress(done, total)
            for spec in specs:
                _work(spec)
                done += 1
                if progress is not None:
                    progress(done, total)
        else:
            ctx = multiprocessing.get_context("spawn")
            with ctx.Pool(jobs, initializer=_init_worker, initargs=init) as pool:
                for n in pool.imap_unordered(_tts_work, chunks):
                    done += n
                    if progress is not None:
                        progress(done, total)
                for _ in pool.imap_unordered(_work, specs, chunksize=16):
                    done += 1
                    if progress is not None:
                        progress(done, total)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if "workdir" in _WORKER:
            shutil.rmtree(_WORKER.pop("workdir"), ignore_errors=True)
    lists: dict[str, list[str]] = {"validation": [], "testing": []}
    for spec in specs:
        split = which_set(spec.relpath, cfg.validation_percentage, cfg.testing_percentage)
        if split in lists:
            lists[split].append(spec.relpath)
    _write_text(out / VALIDATION_LIST, "".join(f"{p}\n" for p in sorted(lists["validation"])))
    _write_text(out / TESTING_LIST, "".join(f"{p}\n" for p in sorted(lists["testing"])))
    seconds = time.perf_counter() - t0
    # The manifest is written last: its presence means the folder is complete.
    engines = {e: sum(1 for s in specs if s.utt.engine == e) for e in cfg.engines}
    _write_text(out / MANIFEST, json.dumps({"config": cfg.to_dict(), "num_clips": len(specs),
                                            "clips_per_engine": engines}, indent=2) + "\n")
    return SynthResult(out, len(specs), seconds, skipped=False, notes=tuple(notes))


def resolve_unknown_words(spec: str, words: tuple[str, ...] = KEYWORDS) -> tuple[str, ...]:
    """``basic`` (the classic 20 words), ``broad`` (the shipped ~480-word list) or a text file's words."""
    if spec == "basic":
        return tuple(w for w in UNKNOWN_WORDS if w not in words)
    if spec == "broad":
        return broad_unknown_words(words)
    path = Path(spec)
    if not path.is_file():
        raise DatasetError(f"--unknown-words must be basic, broad or a word-list file; {spec!r} is none of them")
    out: list[str] = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        w = line.split("#", 1)[0].strip().lower()
        if w and w not in words and w not in out:
            out.append(w)
    if not out:
        raise DatasetError(f"word list {spec} holds no words")
    return tuple(out)


def make_config(*, per_word: int = 200, unknown_per_word: int | None = None, seed: int = 0,
                engines: str | tuple[str, ...] = ("espeak",), engine_weights: str | tuple[float, ...] = (),
                channel: bool = False, reverb: float = 0.0, noise_dir: str | Path | None = None,
                unknown_words: str = "basic", noise_seconds: float = 30.0) -> SynthConfig:
    """A :class:`SynthConfig` from command-line style options (comma lists allowed), so the CLI stays thin."""
    if isinstance(engines, str):
        engines = tuple(e.strip() for e in engines.split(",") if e.strip())
    if isinstance(engine_weights, str):
        try:
            engine_weights = tuple(float(w) for w in engine_weights.split(",") if w.strip())
        except ValueError:
            raise DatasetError(f"engine weights must be numbers separated by commas, got {engine_weights!r}") from None
    if reverb and not channel:
        raise DatasetError("reverberation is part of the channel augmentation: add --channel")
    ch = ChannelConfig(reverb_probability=float(reverb)) if channel else None
    return SynthConfig(per_word=per_word, unknown_per_word=unknown_per_word, seed=seed, engines=engines,
                       engine_weights=engine_weights, channel=ch,
                       noise_dir=None if noise_dir is None else str(noise_dir),
                       unknown_words=resolve_unknown_words(unknown_words), noise_seconds=noise_seconds)
