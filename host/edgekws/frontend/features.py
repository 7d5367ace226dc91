"""Log-mel and MFCC features in vectorised numpy, for one clip or a batch.

Every step is a plain float32 operation the device frontend in C repeats in the
same order (see :mod:`edgekws.frontend.config` for the fixed design):

1. frames ``x[t*hop : t*hop + win]`` (no centering, no padding), shape ``[..., T, win]``;
2. times the periodic Hann window :func:`hann_window`;
3. real FFT of length ``n_fft`` (zero-padded at the end), power ``re^2 + im^2`` (its square
   root for ``spectrum="magnitude"``), ``[..., T, n_fft/2+1]``;
4. times the mel matrix :func:`mel_filterbank` -> ``[..., T, n_mels]``;
5. ``10*log10(max(mel, log_floor))`` -> log-mel in dB (``ln(mel + log_floor)`` for ``log="ln"``);
6. for MFCC, times the DCT-II matrix :func:`dct_matrix` -> ``[..., T, n_mfcc]``.

The constant tables (window, mel matrix, DCT matrix) are exposed so the C code
generator emits exactly the numbers the host uses. Work is done in float32
(what the device does) in chunks of clips, so a batch of thousands of clips
never needs gigabytes of scratch memory.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.fft

from edgekws.errors import AudioError
from edgekws.frontend.config import FrontendConfig

#: FFT input elements (frames * n_fft) per chunk of clips: 1 MiB of float32 (five
#: one-second clips), which keeps the scratch buffers near the CPU caches (measured
#: fastest between 128 Ki and 512 Ki elements) and bounds memory for any batch size.
_CHUNK_ELEMENTS = 1 << 18


# ---- constant tables -------------------------------------------------------

def hann_window(win_length: int) -> np.ndarray:
    """Periodic Hann window ``0.5 - 0.5 cos(2 pi n / N)``, float32 ``[N]``.

    Periodic (not symmetric) because that is the window whose shifted copies at
    the hop sum to a constant, and it is what librosa/scipy use for spectra.
    """
    n = np.arange(win_length, dtype=np.float64)
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * n / win_length)).astype(np.float32)


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """HTK mel scale: ``2595 log10(1 + f / 700)``."""
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    """Inverse of :func:`hz_to_mel`."""
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


@lru_cache(maxsize=32)
def mel_filterbank(cfg: FrontendConfig) -> np.ndarray:
    """Triangular HTK-mel filters with unit peak, float32 ``[n_mels, n_fft // 2 + 1]`` (read-only).

    Band ``m`` rises linearly from mel point ``m`` to ``m+1`` and falls to ``m+2``,
    where the ``n_mels + 2`` points are equally spaced in mel between ``fmin``
    and ``fmax``; the weight of FFT bin ``k`` (at ``k * sr / n_fft`` Hz) is read
    off the triangle in Hz. Computed in float64, stored in float32.
    """
    freqs = np.arange(cfg.n_bins, dtype=np.float64) * cfg.sample_rate / cfg.n_fft
    if cfg.mel_weights == "mel":
        # tf.signal.linear_to_mel_weight_matrix: slopes in mel (1127 ln(1 + f/700)), DC bin zeroed
        mel = 1127.0 * np.log1p(freqs / 700.0)
        pts = np.linspace(1127.0 * np.log1p(cfg.fmin / 700.0), 1127.0 * np.log1p(cfg.fmax / 700.0), cfg.n_mels + 2)
        lo, mid, hi = pts[:-2, None], pts[1:-1, None], pts[2:, None]
        w = np.maximum(0.0, np.minimum((mel[None, :] - lo) / (mid - lo), (hi - mel[None, :]) / (hi - mid)))
        w[:, 0] = 0.0
        return _readonly(w.astype(np.float32))
    edges = mel_to_hz(np.linspace(hz_to_mel(cfg.fmin), hz_to_mel(cfg.fmax), cfg.n_mels + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs[None, :] - lower) / (centre - lower)
    falling = (upper - freqs[None, :]) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return _readonly(weights.astype(np.float32))


@lru_cache(maxsize=32)
def dct_matrix(cfg: FrontendConfig) -> np.ndarray:
    """DCT-II rows for the kept coefficients, float32 ``[n_mfcc, n_mels]`` (read-only).

    ``C[k, n] = s_k cos(pi k (2n + 1) / (2 N))`` with ``s_k = sqrt(1/N)`` for
    ``k = 0`` and ``sqrt(2/N)`` otherwise when ``dct_norm='ortho'``, ``s_k = sqrt(2/N)`` for
    every ``k`` when ``dct_norm='tf'`` (TensorFlow's MFCC), and ``s_k = 2`` when ``dct_norm`` is
    None (scipy's unnormalised type-II).
    """
    n_out = cfg.n_mfcc if cfg.n_mfcc > 0 else cfg.n_mels
    big_n = cfg.n_mels
    k = np.arange(n_out, dtype=np.float64)[:, None]
    n = np.arange(big_n, dtype=np.float64)[None, :]
    basis = np.cos(np.pi * k * (2.0 * n + 1.0) / (2.0 * big_n))
    if cfg.dct_norm == "ortho":
        scale = np.full((n_out, 1), np.sqrt(2.0 / big_n))
        scale[0, 0] = np.sqrt(1.0 / big_n)
    elif cfg.dct_norm == "tf":  # tf.signal.dct(type=2) (2 sum) times rsqrt(2 N)
        scale = np.full((n_out, 1), np.sqrt(2.0 / big_n))
    else:
        scale = np.full((n_out, 1), 2.0)
    return _readonly((basis * scale).astype(np.float32))


class _Tables:
    """Per-config constants laid out for the hot loop.

    ``mel_t`` keeps only the FFT bins some mel band uses (``[0, n_used)``: for
    the kws presets, bins above 4 kHz are never read), so the power spectrum
    and the mel product skip the rest; the result is the same numbers.
    """

    def __init__(self, cfg: FrontendConfig) -> None:
        self.window = hann_window(cfg.win_length)
        mel = mel_filterbank(cfg)
        used = np.flatnonzero(mel.any(axis=0))
        self.n_used = int(used[-1]) + 1 if used.size else 1
        self.mel_t = np.ascontiguousarray(mel[:, : self.n_used].T)
        self.dct_t = np.ascontiguousarray(dct_matrix(cfg).T) if cfg.is_mfcc else None


@lru_cache(maxsize=32)
def _tables(cfg: FrontendConfig) -> _Tables:
    return _Tables(cfg)


# ---- input checks ----------------------------------------------------------

def as_audio_array(audio: np.ndarray, cfg: FrontendConfig, source: str = "audio") -> np.ndarray:
    """Check and convert audio for the frontend: float32, ``[n]`` or ``[N, n]``, finite, >= one window.

    Integer arrays are refused rather than silently rescaled: the frontend's
    numbers (and the log floor) assume float samples in [-1, 1]; convert int16
    with :func:`edgekws.audio.pcm16_to_float`.
    """
    x = np.asarray(audio)
    if x.dtype.kind not in "fiu":
        raise AudioError(f"{source}: expected a numeric array, got dtype {x.dtype}")
    if x.dtype.kind in "iu":
        raise AudioError(f"{source}: expected float samples in [-1, 1], got {x.dtype} "
                         f"(convert PCM with edgekws.audio.pcm16_to_float)")
    if x.ndim not in (1, 2):
        raise AudioError(f"{source}: expected shape [samples] or [clips, samples], got {list(x.shape)}")
    n = x.shape[-1]
    if n < cfg.win_length:
        raise AudioError(f"{source}: {n} samples is shorter than one {cfg.window_ms:g} ms window "
                         f"({cfg.win_length} samples at {cfg.sample_rate} Hz)")
    x = x.astype(np.float32, copy=False)
    if not np.isfinite(x).all():
        bad = int(np.count_nonzero(~np.isfinite(x)))
        raise AudioError(f"{source}: {bad} non-finite (NaN/Inf) sample(s)")
    return x


# ---- the pipeline ----------------------------------------------------------

def frame_signal(x: np.ndarray, cfg: FrontendConfig) -> np.ndarray:
    """Strided view ``[..., frames, win_length]`` of ``x [..., n]`` (no copy, no padding)."""
    frames = np.lib.stride_tricks.sliding_window_view(x, cfg.win_length, axis=-1)
    return frames[..., :: cfg.hop_length, :]


def power_spectrum(audio: np.ndarray, cfg: FrontendConfig) -> np.ndarray:
    """Windowed real-FFT power ``|X|^2``, float32 ``[..., frames, n_fft // 2 + 1]`` (all bins)."""
    x = as_audio_array(audio, cfg)
    buf = np.zeros(x.shape[:-1] + (cfg.num_frames(x.shape[-1]), cfg.n_fft), dtype=np.float32)
    return _power(x, cfg, buf, cfg.n_bins)


def _power(x: np.ndarray, cfg: FrontendConfig, buf: np.ndarray, n_bins: int) -> np.ndarray:
    """Power of the first ``n_bins`` bins; ``buf [..., frames, n_fft]`` must be zero past ``win_length``."""
    # Windowed frames go straight into the zero-padded FFT buffer: one pass over
    # the strided frame view, and a contiguous, unpadded FFT input.
    np.multiply(frame_signal(x, cfg), _tables(cfg).window, out=buf[..., : cfg.win_length])
    # scipy.fft keeps float32 in single precision and is several times faster
    # than numpy.fft on these short rows.
    spec = scipy.fft.rfft(buf, axis=-1)[..., :n_bins]
    power = np.square(spec.real, dtype=np.float32)
    power += np.square(spec.imag, dtype=np.float32)
    if cfg.spectrum == "magnitude":
        np.sqrt(power, out=power)
    return power


def _features_chunk(x: np.ndarray, cfg: FrontendConfig, buf: np.ndarray, mfcc: bool) -> np.ndarray:
    tables = _tables(cfg)
    mel = _power(x, cfg, buf, tables.n_used) @ tables.mel_t
    if cfg.log == "ln":
        mel += np.float32(cfg.log_floor)
        np.log(mel, out=mel)
    else:
        np.maximum(mel, np.float32(cfg.log_floor), out=mel)
        np.log10(mel, out=mel)
        mel *= np.float32(10.0)
    if mfcc and tables.dct_t is not None:
        return mel @ tables.dct_t
    return mel


def _run(audio: np.ndarray, cfg: FrontendConfig, mfcc: bool) -> np.ndarray:
    if cfg.kind == "tflm-micro":
        # All-integer: one implementation is the host frontend and the device twin.
        from edgekws.frontend.micro import micro_features

        return micro_features(audio, cfg)
    if cfg.exact == "device":
        # The firmware's operation order (edgekws.frontend.device), bit-identical to the C.
        from edgekws.frontend.device import device_features

        return device_features(audio, cfg, mfcc=mfcc)
    x = as_audio_array(audio, cfg)
    n_feat = cfg.num_features if mfcc else cfg.n_mels
    n_frames = cfg.num_frames(x.shape[-1])
    if x.ndim == 1:
        # A long recording is cut into runs of whole frames; each run's samples
        # overlap the next by (win - hop), so the frames are exactly those of the whole.
        out = np.empty((n_frames, n_feat), dtype=np.float32)
        step = max(1, _CHUNK_ELEMENTS // cfg.n_fft)
        buf = np.zeros((min(step, n_frames), cfg.n_fft), dtype=np.float32)
        for start in range(0, n_frames, step):
            stop = min(start + step, n_frames)
            seg = x[start * cfg.hop_length: (stop - 1) * cfg.hop_length + cfg.win_length]
            out[start:stop] = _features_chunk(seg, cfg, buf[: stop - start], mfcc)
        return out
    out = np.empty((x.shape[0], n_frames, n_feat), dtype=np.float32)
    step = max(1, _CHUNK_ELEMENTS // max(1, n_frames * cfg.n_fft))
    buf = np.zeros((min(step, x.shape[0]), n_frames, cfg.n_fft), dtype=np.float32)
    for start in range(0, x.shape[0], step):
        chunk = x[start:start + step]
        out[start:start + len(chunk)] = _features_chunk(chunk, cfg, buf[: len(chunk)], mfcc)
    return out


def log_mel_spectrogram(audio: np.ndarray, cfg: FrontendConfig) -> np.ndarray:
    """Log-mel energies in dB, float32 ``[frames, n_mels]`` or ``[N, frames, n_mels]``.

    Always the mel bands, whatever ``cfg.n_mfcc`` says (MFCC configs use this as
    their intermediate).
    """
    return _run(audio, cfg, mfcc=False)


def compute_features(audio: np.ndarray, cfg: FrontendConfig) -> np.ndarray:
    """The model input features: float32 ``[frames, num_features]`` for ``[n]`` audio, ``[N, frames, num_features]`` for ``[N, n]``.

    ``audio`` is float in [-1, 1] at ``cfg.sample_rate``; ``frames`` is
    ``cfg.num_frames(n)`` (49 for one second with the ``kws-*`` presets). Log-mel
    in dB when ``cfg.n_mfcc == 0``, otherwise MFCCs. Raises
    :class:`~edgekws.errors.AudioError` for integer, non-finite, wrongly shaped
    or shorter-than-one-window input. With ``cfg.exact == "device"`` the numbers are
    those of the device frontend in C, to the bit (see :mod:`edgekws.frontend.device`).
    """
    return _run(audio, cfg, mfcc=True)


def summarize_features(features: np.ndarray) -> dict[str, object]:
    """Small JSON-able summary of a feature array ``[..., frames, feats]`` for CLIs and demos.

    Overall min/max/mean/std plus the per-coefficient mean and std (the numbers a
    reader checks first: an MFCC c0 far below the others, a dead band at the floor).
    """
    f = np.asarray(features, dtype=np.float64)
    flat = f.reshape(-1, f.shape[-1])
    return {
        "shape": list(f.shape),
        "min": float(flat.min()),
        "max": float(flat.max()),
        "mean": float(flat.mean()),
        "std": float(flat.std()),
        "per_feature_mean": [round(float(v), 4) for v in flat.mean(axis=0)],
        "per_feature_std": [round(float(v), 4) for v in flat.std(axis=0)],
    }
