"""Long synthetic test streams: keyword clips at known times over background noise.

The streaming benchmark needs audio whose answer is known. A stream is built
from 1 s clips of a Speech Commands-style dataset (the testing split by
default, so a model is never scored on clips it trained on): keywords and a
share of other words (distractors that must *not* fire) separated by random
gaps, each clip scaled to a speech level with some jitter, over pink-ish noise
at a given SNR. The ground truth records, per clip, where the clip and the
spoken part of it (energy-detected) lie in stream time. Everything derives
from one seed, so the same arguments always give the same samples.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgekws.errors import ConfigError, DatasetError

TRUTH_FORMAT = "edgekws-stream-truth"
TRUTH_VERSION = 1
STREAM_WAV = "stream.wav"
TRUTH_JSON = "truth.json"

#: A clip source: (audio file path or float32 samples, word).
Clip = tuple["str | Path | np.ndarray", str]


@dataclass(frozen=True)
class StreamSpec:
    """How a stream is laid out.

    ``keywords``: words that count as targets (others become distractors).
    ``distractor_share``: fraction of placed clips that are non-keyword words (when the
    source has any). ``gap_s``: silence-with-noise between clips, uniform in [lo, hi].
    ``speech_dbfs``: RMS of the spoken part of each clip, ``gain_jitter_db`` around it.
    ``snr_db``: speech level over noise RMS.
    """

    duration_s: float = 60.0
    seed: int = 0
    keywords: tuple[str, ...] = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
    distractor_share: float = 0.2
    gap_s: tuple[float, float] = (0.5, 1.5)
    speech_dbfs: float = -24.0
    gain_jitter_db: float = 4.0
    snr_db: float = 20.0
    sample_rate: int = 16000

    def __post_init__(self) -> None:
        if not (math.isfinite(self.duration_s) and self.duration_s > 0):
            raise ConfigError(f"stream duration must be positive, got {self.duration_s!r} s")
        if not 0.0 <= self.distractor_share < 1.0:
            raise ConfigError(f"distractor_share must be in [0, 1), got {self.distractor_share}")
        lo, hi = self.gap_s
        if not 0.0 <= lo <= hi:
            raise ConfigError(f"gap_s must be 0 <= lo <= hi, got {self.gap_s}")
        if not self.keywords:
            raise ConfigError("at least one keyword is needed")


@dataclass
class GeneratedStream:
    """The stream (float32 [n] in [-1, 1]) and its ground truth (JSON-able dict)."""

    audio: np.ndarray
    truth: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)


def dataset_clips(root: str | Path, split: str | None = "testing") -> list[Clip]:
    """Every clip of one split of a Speech Commands-style folder (``split=None``: all clips)."""
    from edgekws.data.speech_commands import DatasetConfig, assign_splits, normalize_split, scan_dataset

    index = scan_dataset(root)
    if split is None:
        files = sorted(p for paths in index.words.values() for p in paths)
    else:
        files = assign_splits(index, DatasetConfig())[normalize_split(split)]
    if not files:
        raise DatasetError(f"{root}: split {split} has no clips (try --split all)")
    return [(Path(root) / p, p.split("/", 1)[0]) for p in files]


def speech_region(x: np.ndarray, sample_rate: int, rel_db: float = -20.0) -> tuple[int, int]:
    """(first, last+1) sample of the spoken part: 10 ms frames within ``rel_db`` of the loudest."""
    n = max(1, sample_rate // 100)
    frames = len(x) // n
    if frames == 0:
        return 0, len(x)
    e = np.sqrt(np.mean(x[: frames * n].reshape(frames, n).astype(np.float64) ** 2, axis=1))
    if e.max() <= 0:
        return 0, len(x)
    on = np.flatnonzero(e >= e.max() * 10 ** (rel_db / 20))
    return int(on[0] * n), int(min(len(x), (on[-1] + 1) * n))


def pink_noise(n: int, rng: np.random.Generator, block: int = 1 << 18) -> np.ndarray:
    """Unit-RMS noise with a 1/f power spectrum, made in blocks (long streams stay cheap)."""
    out = np.empty(n, np.float32)
    for start in range(0, n, block):
        m = min(block, n - start)
        spec = np.fft.rfft(rng.standard_normal(max(m, 2)))
        f = np.arange(spec.size, dtype=np.float64)
        f[0] = 1.0
        y = np.fft.irfft(spec / np.sqrt(f), n=max(m, 2))[:m]
        out[start:start + m] = y / (np.sqrt(np.mean(y**2)) + 1e-12)
    return out


def _load(src: str | Path | np.ndarray, sample_rate: int) -> tuple[np.ndarray, str]:
    if isinstance(src, np.ndarray):
        return np.asarray(src, np.float32), "<array>"
    from edgekws.audio import load_audio

    return load_audio(src, sample_rate), str(src)


def generate_stream(source: str | Path | Sequence[Clip], spec: StreamSpec | None = None, *,
                    split: str | None = "testing",
                    progress: Callable[[int, int], None] | None = None) -> GeneratedStream:
    """Build a stream from a dataset root (or (clip, word) pairs) following ``spec``.

    Clips are drawn with replacement, keyword/distractor by ``distractor_share``,
    uniform over words then over that word's clips (so rare words appear as often
    as common ones). ``progress(done_samples, total_samples)`` is called as clips
    are placed.
    """
    spec = spec or StreamSpec()
    clips = dataset_clips(source, split) if isinstance(source, (str, Path)) else list(source)
    by_word: dict[str, list[str | Path | np.ndarray]] = {}
    for src, word in clips:
        by_word.setdefault(word, []).append(src)
    kw_words = sorted(w for w in by_word if w in spec.keywords)
    other_words = sorted(w for w in by_word if w not in spec.keywords and not w.startswith("_"))
    if not kw_words:
        raise DatasetError(f"the clip source has none of the keywords {', '.join(spec.keywords)}")
    sr = spec.sample_rate
    total = int(round(spec.duration_s * sr))
    rng = np.random.default_rng(spec.seed)
    noise_rms = 10 ** ((spec.speech_dbfs - spec.snr_db) / 20)
    audio = (pink_noise(total, rng) * noise_rms).astype(np.float32)
    cache: dict[int, tuple[np.ndarray, str]] = {}
    events: list[dict[str, Any]] = []
    pos = int(round(rng.uniform(*spec.gap_s) * sr))
    while True:
        distractor = bool(other_words) and rng.random() < spec.distractor_share
        word = str(rng.choice(other_words if distractor else kw_words))
        pool = by_word[word]
        k = int(rng.integers(len(pool)))
        key = id(pool[k])
        if key not in cache:
            cache[key] = _load(pool[k], sr)
        x, name = cache[key]
        if pos + len(x) > total:
            break
        a, b = speech_region(x, sr)
        level = np.sqrt(np.mean(x[a:b].astype(np.float64) ** 2)) if b > a else 0.0
        gain_db = spec.speech_dbfs + rng.uniform(-spec.gain_jitter_db, spec.gain_jitter_db)
        if level > 0:
            audio[pos:pos + len(x)] += (x * (10 ** (gain_db / 20) / level)).astype(np.float32)
        ms = 1000.0 / sr
        events.append({
            "label": word, "keyword": not distractor, "file": name,
            "clip_start_ms": round(pos * ms, 3), "clip_end_ms": round((pos + len(x)) * ms, 3),
            "start_ms": round((pos + a) * ms, 3), "end_ms": round((pos + b) * ms, 3),
        })
        pos += len(x) + int(round(rng.uniform(*spec.gap_s) * sr))
        if progress is not None:
            progress(min(pos, total), total)
    peak = float(np.max(np.abs(audio))) if total else 0.0
    if peak > 0.99:
        audio *= np.float32(0.99 / peak)
    truth = {
        "format": TRUTH_FORMAT, "version": TRUTH_VERSION, "sample_rate": sr, "num_samples": total,
        "duration_s": total / sr, "seed": spec.seed, "snr_db": spec.snr_db, "speech_dbfs": spec.speech_dbfs,
        "keywords": list(spec.keywords), "source": str(source) if isinstance(source, (str, Path)) else "<clips>",
        "split": split, "num_keywords": sum(e["keyword"] for e in events),
        "num_distractors": sum(not e["keyword"] for e in events), "events": events,
    }
    if progress is not None:
        progress(total, total)
    return GeneratedStream(audio=audio, truth=truth, events=events)


def write_stream(out_dir: str | Path, stream: GeneratedStream) -> tuple[Path, Path]:
    """Write ``stream.wav`` (16-bit PCM) and ``truth.json`` into ``out_dir``, each atomically."""
    from edgekws.audio import write_wav

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    wav = write_wav(out / STREAM_WAV, stream.audio, int(stream.truth["sample_rate"]))
    truth = out / TRUTH_JSON
    _write_text_atomic(truth, json.dumps(stream.truth, indent=2) + "\n")
    return wav, truth


def load_truth(path: str | Path) -> dict[str, Any]:
    """Read and check a truth.json (one-line DatasetError when it is not one)."""
    p = Path(path)
    try:
        data = json.loads(p.read_text())
    except FileNotFoundError:
        raise DatasetError(f"{p}: no such ground-truth file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{p}: not a readable JSON file ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict) or data.get("format") != TRUTH_FORMAT or not isinstance(data.get("events"), list):
        raise DatasetError(f"{p}: not an edgekws stream ground truth (format {TRUTH_FORMAT!r})")
    return data


def _write_text_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
