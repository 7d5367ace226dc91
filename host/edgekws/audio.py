"""Audio file I/O: every clip enters edgekws as float32 mono at 16 kHz in [-1, 1].

Reading goes through soundfile (libsndfile: WAV, FLAC, OGG and friends), so
int16/int24/int32/float WAVs all arrive as floats scaled the way libsndfile
scales PCM (``k / 32768`` for int16). Stereo is down-mixed by averaging, any
other sample rate is resampled with a polyphase filter (exact rational ratio,
e.g. 160/441 for 44.1 kHz). Anything a user can get wrong (a missing, corrupt,
empty or non-finite file, a clip too short for the frontend) raises
:class:`~edgekws.errors.AudioError` with one line that names the file.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from edgekws.errors import AudioError, ConfigError

if TYPE_CHECKING:
    from edgekws.frontend.config import FrontendConfig

DEFAULT_SAMPLE_RATE = 16000

#: libsndfile's scale for 16-bit PCM: int16 ``k`` reads as ``k / 32768``.
PCM16_SCALE = 32768.0


def _short_reason(exc: BaseException) -> str:
    """First line of an exception text (libsndfile's messages can span lines)."""
    text = str(exc).strip()
    if not text:
        return type(exc).__name__
    first = text.splitlines()[0]
    # soundfile prefixes the path ("Error opening '...': ..."); we name the file ourselves.
    if ": " in first and first.startswith("Error opening"):
        first = first.split(": ", 1)[1]
    return first


def load_audio(path: str | os.PathLike[str], sample_rate: int = DEFAULT_SAMPLE_RATE) -> np.ndarray:
    """Read an audio file as float32 mono ``[n]`` in [-1, 1] at ``sample_rate`` Hz.

    Raises :class:`AudioError` (one line, naming the file) when the file is
    missing or unreadable, has no samples, or holds any NaN/Inf sample. Float
    files with peaks beyond full scale are clipped to [-1, 1], as a DAC or an
    int16 conversion would.
    """
    import soundfile as sf

    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise ConfigError(f"sample_rate must be a positive integer, got {sample_rate!r}")
    p = Path(path)
    if not p.is_file():
        raise AudioError(f"{p}: no such audio file" if not p.exists() else f"{p}: not a file")
    if p.stat().st_size == 0:
        raise AudioError(f"{p}: audio file is empty (0 bytes)")
    try:
        data, file_rate = sf.read(str(p), dtype="float32", always_2d=True)
    except (RuntimeError, OSError, ValueError, TypeError, EOFError) as exc:
        # soundfile.LibsndfileError is a RuntimeError; truncated headers may surface as others.
        raise AudioError(f"{p}: cannot read audio ({_short_reason(exc)})") from None
    if data.size == 0:
        raise AudioError(f"{p}: audio file has no samples")
    if not np.isfinite(data).all():
        bad = int(np.count_nonzero(~np.isfinite(data)))
        raise AudioError(f"{p}: {bad} non-finite (NaN/Inf) sample(s) of {data.size}")
    mono = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
    if file_rate != sample_rate:
        mono = resample(mono, int(file_rate), int(sample_rate))
        if mono.size == 0:
            raise AudioError(f"{p}: too short to resample from {file_rate} Hz to {sample_rate} Hz")
    return np.clip(mono, -1.0, 1.0).astype(np.float32, copy=False)


def resample(x: np.ndarray, orig_rate: int, target_rate: int) -> np.ndarray:
    """Polyphase resampling of ``x [..., n]`` by the exact ratio ``target/orig`` (float32 out).

    scipy's ``resample_poly`` (Kaiser-windowed FIR) rather than an FFT
    resampler: no wrap-around at the clip edges and fast for the usual
    rational ratios (44.1k -> 16k is 160/441).
    """
    if orig_rate <= 0 or target_rate <= 0:
        raise ConfigError(f"sample rates must be positive, got {orig_rate} -> {target_rate}")
    if orig_rate == target_rate:
        return np.asarray(x, dtype=np.float32)
    from scipy.signal import resample_poly

    g = math.gcd(int(orig_rate), int(target_rate))
    y = resample_poly(np.asarray(x, dtype=np.float32), target_rate // g, orig_rate // g, axis=-1)
    return y.astype(np.float32, copy=False)


def validate_audio(x: np.ndarray, cfg: FrontendConfig, source: str = "audio") -> np.ndarray:
    """Check audio before it reaches the frontend; returns it as float32.

    Accepts ``[n]`` or ``[N, n]`` float samples; raises :class:`AudioError`
    for integer dtypes, other shapes, any NaN/Inf, or fewer samples than one
    ``cfg`` window (the frontend would give zero frames). ``source`` (a file
    name, a dataset key) goes into the message.
    """
    from edgekws.frontend.features import as_audio_array

    return as_audio_array(x, cfg, source=source)


def pcm16_to_float(x: np.ndarray) -> np.ndarray:
    """int16 PCM -> float32 in [-1, 1) with libsndfile's scaling (``k / 32768``)."""
    return (np.asarray(x, dtype=np.int16).astype(np.float32) / np.float32(PCM16_SCALE)).astype(np.float32)


def float_to_pcm16(x: np.ndarray) -> np.ndarray:
    """float in [-1, 1] -> int16, the exact inverse of :func:`pcm16_to_float` on its outputs.

    Values are clipped to full scale, so +1.0 becomes 32767. Non-finite input is
    an :class:`AudioError` (it has no PCM value).
    """
    a = np.asarray(x, dtype=np.float64)
    if not np.isfinite(a).all():
        raise AudioError("cannot convert non-finite (NaN/Inf) samples to PCM")
    return np.clip(np.round(a * PCM16_SCALE), -32768, 32767).astype(np.int16)


def write_wav(path: str | os.PathLike[str], x: np.ndarray, sample_rate: int = DEFAULT_SAMPLE_RATE) -> Path:
    """Write mono ``x [n]`` (float in [-1, 1], or int16) as a 16-bit PCM WAV, atomically.

    The file is written to a temporary name in the target directory and moved
    into place with ``os.replace``, so a reader (or a crash) never sees half a
    file. Returns the path written.
    """
    import soundfile as sf

    p = Path(path)
    a = np.asarray(x)
    if a.ndim != 1:
        raise AudioError(f"{p}: write_wav expects mono samples [n], got shape {list(a.shape)}")
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise ConfigError(f"sample_rate must be a positive integer, got {sample_rate!r}")
    pcm = a if a.dtype == np.int16 else float_to_pcm16(a)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            sf.write(fh, pcm, int(sample_rate), format="WAV", subtype="PCM_16")
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a dataset file should be readable like any other
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


def pad_or_trim(x: np.ndarray, num_samples: int) -> np.ndarray:
    """Zero-pad at the end or cut ``x [..., n]`` to exactly ``num_samples`` (e.g. one second)."""
    a = np.asarray(x)
    n = a.shape[-1]
    if n >= num_samples:
        return a[..., :num_samples]
    pad = [(0, 0)] * (a.ndim - 1) + [(0, num_samples - n)]
    return np.pad(a, pad)
