"""Synthetic keyword dataset in the Speech Commands layout, spoken by espeak-ng.

Why: the real dataset is 2.3 GB and cannot be fetched at test or demo time;
a synthetic set with the same layout exercises every stage (loader, frontend,
training, pruning, quantization, device accuracy) end to end in minutes.

What varies per clip: the voice (eight English accents) and its variant
(male/female/klatt/... speakers), speed, pitch, amplitude, the word's position
in the 1 s window, and background noise at a random SNR. A *speaker* is a
voice+variant pair; its id is the ``<speaker>`` part of ``<speaker>_nohash_<n>.wav``,
so the dataset's hash rule keeps each synthetic speaker in one split, and the
written ``validation_list.txt`` / ``testing_list.txt`` agree with that rule.

Determinism: every clip's parameters come from a generator seeded by
``(seed, word, clip)``, espeak-ng itself is deterministic, and resampling and
mixing are plain numpy/scipy, so the same seed writes byte-identical files
whatever the number of worker processes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import multiprocessing
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from edgekws.data.augment import cut_segment
from edgekws.data.speech_commands import (
    BACKGROUND_NOISE_DIR,
    KEYWORDS,
    TESTING_LIST,
    VALIDATION_LIST,
    which_set,
)
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


@dataclass(frozen=True)
class SynthConfig:
    """Everything that decides the synthetic dataset's content (saved as ``synth_config.json``).

    ``unknown_per_word`` defaults to a quarter of ``per_word``: the 12-class
    task keeps only ~10 % unknown, so many more unknown clips would only cost
    time, while twenty different words still give the class its variety.
    """

    per_word: int = 200
    unknown_per_word: int | None = None
    seed: int = 0
    words: tuple[str, ...] = KEYWORDS
    unknown_words: tuple[str, ...] = UNKNOWN_WORDS
    voices: tuple[str, ...] = VOICES
    variants: tuple[str, ...] = VARIANTS
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
        for name in ("words", "unknown_words", "voices", "variants", "speed_wpm", "pitch", "amplitude", "snr_db"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
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

    @property
    def unknown_count(self) -> int:
        """Clips per unknown word."""
        return self.unknown_per_word if self.unknown_per_word is not None else max(1, self.per_word // 4)

    @property
    def num_clips(self) -> int:
        """Word clips the config writes (noise files not counted)."""
        return len(self.words) * self.per_word + len(self.unknown_words) * self.unknown_count

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
    """All parameters of one clip, fixed before any audio is made (so workers are stateless)."""

    relpath: str
    word: str
    voice: str
    speed: int
    pitch: int
    amplitude: int
    shift: int
    noise_index: int
    snr_db: float | None
    noise_seed: int


@dataclass(frozen=True)
class SynthResult:
    """What a synth run did, and how fast."""

    out: Path
    num_clips: int
    seconds: float
    skipped: bool

    @property
    def clips_per_second(self) -> float:
        """Clip throughput of this run (0 when it was skipped)."""
        return self.num_clips / self.seconds if self.seconds > 0 and not self.skipped else 0.0


def speaker_id(voice: str) -> str:
    """Stable 8-hex-digit speaker id of a voice+variant, as in the real file names."""
    return hashlib.sha1(voice.encode("utf-8")).hexdigest()[:8]


def _voices(cfg: SynthConfig) -> list[str]:
    return [v if not var else f"{v}+{var}" for v in cfg.voices for var in cfg.variants]


def _speakers_by_split(cfg: SynthConfig) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {"training": [], "validation": [], "testing": []}
    for voice in _voices(cfg):
        out[which_set(speaker_id(voice), cfg.validation_percentage, cfg.testing_percentage)].append(voice)
    for split, voices in out.items():
        if not voices and (split == "training" or getattr(cfg, f"{split}_percentage") > 0):
            raise DatasetError(f"no synthetic speaker falls in the {split} split; add voices or variants")
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


def plan_clips(cfg: SynthConfig) -> list[ClipSpec]:
    """Every clip's parameters, in a fixed order (keywords, then unknown words)."""
    speakers = _speakers_by_split(cfg)
    specs: list[ClipSpec] = []
    all_words = [(w, cfg.per_word) for w in cfg.words] + [(w, cfg.unknown_count) for w in cfg.unknown_words]
    for word_no, (word, count) in enumerate(all_words):
        slots = _split_slots(count, cfg, np.random.default_rng([cfg.seed, word_no, 1 << 20]))
        per_speaker: dict[str, int] = {}
        for k in range(count):
            rng = np.random.default_rng([cfg.seed, word_no, k])
            pool = speakers[slots[k]]
            voice = pool[int(rng.integers(0, len(pool)))]
            spk = speaker_id(voice)
            j = per_speaker.get(spk, 0)
            per_speaker[spk] = j + 1
            # A speaker keeps a base pitch and rate; each clip jitters around it.
            srng = np.random.default_rng(int(spk, 16))
            base_pitch = srng.integers(cfg.pitch[0], cfg.pitch[1] + 1)
            base_speed = srng.integers(cfg.speed_wpm[0], cfg.speed_wpm[1] + 1)
            pitch = int(np.clip(base_pitch + rng.integers(-8, 9), 0, 99))
            speed = int(np.clip(base_speed + rng.integers(-20, 21), 80, 450))
            amplitude = int(rng.integers(cfg.amplitude[0], cfg.amplitude[1] + 1))
            max_shift = int(round(cfg.max_shift_ms * cfg.sample_rate / 1000.0))
            shift = int(rng.integers(-max_shift, max_shift + 1)) if max_shift > 0 else 0
            noisy = rng.uniform() < cfg.noise_probability
            snr = float(rng.uniform(cfg.snr_db[0], cfg.snr_db[1])) if noisy else None
            specs.append(ClipSpec(
                relpath=f"{word}/{spk}_nohash_{j}.wav", word=word, voice=voice, speed=speed, pitch=pitch,
                amplitude=amplitude, shift=shift, noise_index=int(rng.integers(0, len(NOISE_KINDS))),
                snr_db=snr, noise_seed=int(rng.integers(0, 2**31 - 1)),
            ))
    return specs


# --- espeak-ng ------------------------------------------------------------------------------------

def espeak_binary() -> str:
    """Path of espeak-ng, or a one-line DatasetError saying how to get it."""
    path = shutil.which("espeak-ng")
    if path is None:
        raise DatasetError("espeak-ng is not installed (apt-get install espeak-ng; `make setup` does it)")
    return path


def espeak(text: str, voice: str, speed: int, pitch: int, amplitude: int, workdir: Path) -> np.ndarray:
    """Speak ``text`` with espeak-ng; float32 mono at espeak's native 22050 Hz."""
    wav = Path(tempfile.mkstemp(suffix=".wav", dir=workdir)[1])
    try:
        cmd = [espeak_binary(), "-w", str(wav), "-v", voice, "-s", str(speed), "-p", str(pitch),
               "-a", str(amplitude), text]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            detail = (proc.stderr.strip().splitlines() or ["no message"])[0]
            raise DatasetError(f"espeak-ng failed for voice {voice}: {detail}")
        x, rate = sf.read(str(wav), dtype="float32", always_2d=False)
    except (OSError, subprocess.SubprocessError, RuntimeError) as exc:
        raise DatasetError(f"espeak-ng failed for voice {voice}: {exc}") from None
    finally:
        wav.unlink(missing_ok=True)
    if x.ndim > 1:
        x = x.mean(axis=1)
    if rate != ESPEAK_RATE:
        raise DatasetError(f"espeak-ng wrote {rate} Hz audio, expected {ESPEAK_RATE}")
    return np.asarray(x, dtype=np.float32)


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


def render_clip(spec: ClipSpec, noises: list[np.ndarray], sample_rate: int, workdir: Path) -> np.ndarray:
    """The final 1 s clip of a spec (float32 [sample_rate])."""
    speech = trim(to_16k(espeak(spec.word, spec.voice, spec.speed, spec.pitch, spec.amplitude, workdir),
                         target=sample_rate))
    x = place(speech, sample_rate, spec.shift)
    rng = np.random.default_rng(spec.noise_seed)
    if spec.snr_db is not None and noises:
        noise = cut_segment(noises[spec.noise_index % len(noises)], sample_rate, rng)
        x = add_noise_snr(x, noise, spec.snr_db)
    # A microphone never records digital zero: a faint floor (-80..-60 dBFS)
    # keeps the model from keying on exact-zero padding around the word.
    x = x + np.float32(rng.uniform(1e-4, 1e-3)) * rng.standard_normal(sample_rate).astype(np.float32)
    # Scale down instead of clipping: a loud voice plus noise must not turn
    # into square waves the real dataset does not contain.
    peak = float(np.max(np.abs(x)))
    if peak > 0.99:
        x = x * (0.99 / peak)
    return x.astype(np.float32)


_WORKER: dict = {}


def _init_worker(out: str, noise_paths: list[str], sample_rate: int) -> None:
    _WORKER["out"] = Path(out)
    _WORKER["noises"] = [sf.read(p, dtype="float32")[0] for p in noise_paths]
    _WORKER["sample_rate"] = sample_rate
    _WORKER["workdir"] = Path(tempfile.mkdtemp(prefix="edgekws-espeak-"))


def _work(spec: ClipSpec) -> str:
    x = render_clip(spec, _WORKER["noises"], _WORKER["sample_rate"], _WORKER["workdir"])
    _atomic_write_wav(_WORKER["out"] / spec.relpath, x, _WORKER["sample_rate"])
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


def synthesize_dataset(
    out: str | Path,
    cfg: SynthConfig | None = None,
    *,
    jobs: int = 2,
    force: bool = False,
    progress: ProgressFn | None = None,
) -> SynthResult:
    """Write a synthetic Speech Commands-layout dataset into ``out``.

    ``jobs`` worker processes (capped at 2: the machines this runs on are
    small) render clips; ``jobs=1`` renders in-process. Re-running with the
    same config on a finished folder does nothing (``skipped=True``).
    """
    cfg = cfg or SynthConfig()
    out = Path(out)
    espeak_binary()
    if _prepare_out(out, cfg, force):
        return SynthResult(out, cfg.num_clips, 0.0, skipped=True)
    t0 = time.perf_counter()
    specs = plan_clips(cfg)
    workdir = Path(tempfile.mkdtemp(prefix="edgekws-espeak-"))
    try:
        noise_paths = []
        for kind in NOISE_KINDS:
            path = out / BACKGROUND_NOISE_DIR / f"{kind}.wav"
            _atomic_write_wav(path, make_noise(kind, cfg.noise_seconds, cfg.sample_rate, cfg.seed, workdir),
                              cfg.sample_rate)
            noise_paths.append(str(path))
        # Workers read the noise back from the WAV files, so in-process and
        # pooled runs mix exactly the same (int16-rounded) samples.
        jobs = max(1, min(int(jobs), 2, len(specs)))
        total = len(specs)
        done = 0
        if jobs == 1:
            _init_worker(str(out), noise_paths, cfg.sample_rate)
            for spec in specs:
                _work(spec)
                done += 1
                if progress is not None:
                    progress(done, total)
        else:
            ctx = multiprocessing.get_context("spawn")
            with ctx.Pool(jobs, initializer=_init_worker, initargs=(str(out), noise_paths, cfg.sample_rate)) as pool:
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
    _write_text(out / MANIFEST, json.dumps({"config": cfg.to_dict(), "num_clips": len(specs)}, indent=2) + "\n")
    return SynthResult(out, len(specs), seconds, skipped=False)
