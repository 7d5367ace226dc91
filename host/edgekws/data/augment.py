"""Waveform augmentation for keyword clips: time shift, background noise, silence clips.

These are the augmentations of the TensorFlow ``speech_commands`` recipe (and
of Arm's Hello Edge training), applied to raw 16 kHz audio before the frontend:

* a random time shift of up to ``time_shift_ms`` either way (zero padded), so
  the model does not rely on the word starting at a fixed frame;
* with probability ``background_frequency`` a random 1 s segment of a random
  ``_background_noise_`` file mixed in at a gain drawn from
  ``[0, background_volume]``;
* ``_silence_`` examples are segments of the noise files at a gain drawn from
  ``[0, silence_max_volume]`` (pure zeros when the dataset has no noise files).

Every function takes a numpy ``Generator`` so results are deterministic for a
seed; nothing here reads global random state.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

import numpy as np

from edgekws.errors import DatasetError


@dataclass(frozen=True)
class AugmentConfig:
    """Training-time augmentation settings (defaults of the TF speech_commands example)."""

    time_shift_ms: float = 100.0
    background_frequency: float = 0.8
    background_volume: float = 0.1

    def __post_init__(self) -> None:
        if self.time_shift_ms < 0:
            raise DatasetError(f"time_shift_ms must be >= 0, got {self.time_shift_ms}")
        if not 0.0 <= self.background_frequency <= 1.0:
            raise DatasetError(f"background_frequency must be in [0, 1], got {self.background_frequency}")
        if self.background_volume < 0:
            raise DatasetError(f"background_volume must be >= 0, got {self.background_volume}")

    def to_dict(self) -> dict:
        """Plain JSON-able dict."""
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        """Canonical JSON (sorted keys), used in feature-cache keys."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict) -> AugmentConfig:
        """Inverse of :meth:`to_dict`."""
        extra = set(d) - {f.name for f in dataclasses.fields(cls)}
        if extra:
            raise DatasetError(f"unknown AugmentConfig keys: {', '.join(sorted(extra))}")
        return cls(**d)


def fit_length(x: np.ndarray, n: int) -> np.ndarray:
    """Zero-pad at the end or crop the end so ``x`` has exactly ``n`` samples (float32)."""
    x = np.asarray(x, dtype=np.float32)
    if x.shape[-1] == n:
        return x
    if x.shape[-1] > n:
        return x[..., :n]
    pad = [(0, 0)] * (x.ndim - 1) + [(0, n - x.shape[-1])]
    return np.pad(x, pad)


def time_shift(x: np.ndarray, shift: int) -> np.ndarray:
    """Shift a clip by ``shift`` samples (positive = later), keeping its length; zero fill."""
    x = np.asarray(x, dtype=np.float32)
    n = x.shape[-1]
    out = np.zeros_like(x)
    if shift >= n or shift <= -n:
        return out
    if shift > 0:
        out[..., shift:] = x[..., : n - shift]
    elif shift < 0:
        out[..., : n + shift] = x[..., -shift:]
    else:
        out[...] = x
    return out


def random_time_shift(x: np.ndarray, max_shift: int, rng: np.random.Generator) -> np.ndarray:
    """Shift by a uniform integer in ``[-max_shift, max_shift]``."""
    if max_shift <= 0:
        return np.asarray(x, dtype=np.float32).copy()
    return time_shift(x, int(rng.integers(-max_shift, max_shift + 1)))


def cut_segment(noise: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """A random ``n``-sample segment of a noise recording (zero padded if it is shorter)."""
    noise = np.asarray(noise, dtype=np.float32)
    if noise.shape[0] <= n:
        return fit_length(noise, n)
    start = int(rng.integers(0, noise.shape[0] - n + 1))
    return noise[start : start + n].copy()


def make_silence(
    noises: list[np.ndarray], n: int, rng: np.random.Generator, max_volume: float = 1.0
) -> np.ndarray:
    """A ``_silence_`` example: a random noise segment at a gain in ``[0, max_volume]``.

    Real "silence" is never digital zero; using the noise files teaches the
    model what an empty room sounds like. Zeros only when there is no noise.
    """
    if not noises:
        return np.zeros(n, dtype=np.float32)
    noise = noises[int(rng.integers(0, len(noises)))]
    gain = float(rng.uniform(0.0, max_volume))
    return np.clip(cut_segment(noise, n, rng) * gain, -1.0, 1.0).astype(np.float32)


def mix_background(x: np.ndarray, noise: np.ndarray, gain: float) -> np.ndarray:
    """``x + gain * noise`` clipped to [-1, 1] (the int16 range the device sees)."""
    return np.clip(np.asarray(x, np.float32) + np.float32(gain) * noise, -1.0, 1.0).astype(np.float32)


def augment_clip(
    x: np.ndarray,
    noises: list[np.ndarray],
    cfg: AugmentConfig,
    rng: np.random.Generator,
    sample_rate: int = 16000,
) -> np.ndarray:
    """Time shift, then background noise with probability ``background_frequency``."""
    out = random_time_shift(x, int(round(cfg.time_shift_ms * sample_rate / 1000.0)), rng)
    if noises and rng.uniform() < cfg.background_frequency:
        noise = cut_segment(noises[int(rng.integers(0, len(noises)))], out.shape[0], rng)
        out = mix_background(out, noise, float(rng.uniform(0.0, cfg.background_volume)))
    return out


def augment_batch(
    audio: np.ndarray,
    is_silence: np.ndarray,
    noises: list[np.ndarray],
    cfg: AugmentConfig,
    seed: int,
    *,
    sample_rate: int = 16000,
    silence_max_volume: float = 1.0,
    start_index: int = 0,
) -> np.ndarray:
    """Augment ``[N, n]`` clips; silence rows are re-drawn from the noise files.

    Row ``i`` is example ``start_index + i`` of its split and uses its own
    generator seeded by ``(seed, start_index + i)``: an example's augmentation
    depends neither on the examples before it nor on how the split is chunked.
    """
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 2:
        raise DatasetError(f"augment_batch expects [N, n] audio, got shape {audio.shape}")
    out = np.empty_like(audio)
    for i in range(audio.shape[0]):
        rng = np.random.default_rng([seed, start_index + i])
        if is_silence[i]:
            out[i] = make_silence(noises, audio.shape[1], rng, silence_max_volume)
        else:
            out[i] = augment_clip(audio[i], noises, cfg, rng, sample_rate)
    return out


# --- speaker and channel variety (synthesis time) ---------------------------------------------------
#
# Why: a synthesiser's voice is one narrow speaker in a studio; real clips come
# from thousands of vocal tracts through cheap microphones in echoing rooms.
# These functions give every synthetic clip its own speaker (speed, pitch,
# formants) and channel (room, microphone band and EQ, loudness), all drawn from
# a seeded generator so the dataset stays byte-identical for a seed.


@dataclass(frozen=True)
class ChannelConfig:
    """Ranges of the per-clip speaker/channel perturbations (``synth_config.json`` records them).

    ``speed``: resampling factor range (Kaldi-style speed perturbation: tempo, pitch and formants
    move together). ``pitch_semitones``: pitch shift with formants kept. ``vtlp``: vocal-tract
    length (formant) warp factor. ``gain_db``: peak level of the finished clip in dBFS.
    ``bandlimit_probability``: chance of a cheap-microphone band (high-pass in ``highpass_hz``,
    low-pass in ``lowpass_hz``); ``eq_probability``: chance of 1-3 random peaking-EQ bands of
    ``eq_db``. ``reverb_probability``: chance of a simulated room with RT60 in ``rt60_s`` and a
    direct-to-reverberant ratio in ``drr_db``.
    """

    speed: tuple[float, float] = (0.88, 1.12)
    pitch_semitones: tuple[float, float] = (-3.0, 3.0)
    vtlp: tuple[float, float] = (0.88, 1.12)
    gain_db: tuple[float, float] = (-30.0, -1.0)
    bandlimit_probability: float = 0.7
    highpass_hz: tuple[float, float] = (60.0, 400.0)
    lowpass_hz: tuple[float, float] = (3000.0, 7600.0)
    eq_probability: float = 0.6
    eq_db: tuple[float, float] = (-9.0, 9.0)
    reverb_probability: float = 0.0
    rt60_s: tuple[float, float] = (0.15, 0.9)
    drr_db: tuple[float, float] = (-3.0, 12.0)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, list):
                object.__setattr__(self, f.name, tuple(v))
                v = tuple(v)
            if isinstance(v, tuple) and (len(v) != 2 or v[0] > v[1]):
                raise DatasetError(f"channel {f.name} must be a (low, high) range, got {v}")
            if f.name.endswith("_probability") and not 0.0 <= v <= 1.0:
                raise DatasetError(f"channel {f.name} must be in [0, 1], got {v}")
        if self.speed[0] <= 0 or self.vtlp[0] <= 0 or self.rt60_s[0] <= 0:
            raise DatasetError("channel speed, vtlp and rt60_s must be positive")
        if self.lowpass_hz[1] >= 8000.0 or self.highpass_hz[0] <= 0:
            raise DatasetError("channel band edges must lie inside (0, 8000) Hz")

    def to_dict(self) -> dict:
        """JSON-able dict (tuples as lists)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, d: dict) -> ChannelConfig:
        """Inverse of :meth:`to_dict`."""
        extra = set(d) - {f.name for f in dataclasses.fields(cls)}
        if extra:
            raise DatasetError(f"unknown ChannelConfig keys: {', '.join(sorted(extra))}")
        return cls(**d)


def resample_by(x: np.ndarray, factor: float, max_den: int = 64) -> np.ndarray:
    """Play ``x`` ``factor`` times faster (length / factor): speed perturbation by polyphase resampling."""
    from fractions import Fraction

    from scipy.signal import resample_poly

    x = np.asarray(x, dtype=np.float32)
    fr = Fraction(float(factor)).limit_denominator(max_den)
    if fr == 1 or x.size == 0:
        return x.copy()
    return resample_poly(x.astype(np.float64), fr.denominator, fr.numerator).astype(np.float32)


def vtlp(x: np.ndarray, alpha: float, sample_rate: int = 16000, boundary: float = 0.8) -> np.ndarray:
    """Vocal-tract length perturbation: warp the spectrum's frequency axis by ``alpha`` (>1 = higher formants).

    Piecewise-linear warp (Jaitly & Hinton 2013): frequencies below ``boundary`` x Nyquist scale
    by ``alpha``, the rest map linearly so Nyquist stays put. Each STFT frame's magnitude is
    resampled along frequency and keeps its own phase; pitch harmonics move with the envelope
    by less than a bin, which a 40-band MFCC cannot see.
    """
    from scipy.signal import istft, stft

    x = np.asarray(x, dtype=np.float32)
    if alpha == 1.0 or x.size < 512:
        return x.copy()
    nper = 512
    _, _, z = stft(x.astype(np.float64), fs=sample_rate, nperseg=nper, noverlap=nper - 128)
    nbins = z.shape[0]
    f = np.arange(nbins, dtype=np.float64)
    nyq = nbins - 1.0
    f0 = boundary * nyq * min(alpha, 1.0) / alpha  # source frequency where the warp bends
    # inverse map: for each output bin, the source bin whose content lands there
    knee = f0 * alpha
    src = np.where(f <= knee, f / alpha, f0 + (f - knee) * (nyq - f0) / max(nyq - knee, 1e-9))
    mag = np.abs(z)
    warped = np.empty_like(mag)
    for t in range(mag.shape[1]):
        warped[:, t] = np.interp(src, f, mag[:, t])
    y = istft(warped * np.exp(1j * np.angle(z)), fs=sample_rate, nperseg=nper, noverlap=nper - 128)[1]
    return fit_length(y.astype(np.float32), x.shape[0])


def pitch_shift(x: np.ndarray, semitones: float, sample_rate: int = 16000) -> np.ndarray:
    """Raise the pitch by ``semitones`` keeping the formants: resample (pitch+formants+tempo), then VTLP back.

    The tempo changes with the pitch (by the same factor); speaking rate is randomised anyway.
    """
    if semitones == 0.0:
        return np.asarray(x, dtype=np.float32).copy()
    r = 2.0 ** (semitones / 12.0)
    return vtlp(resample_by(x, r), 1.0 / r, sample_rate)


def band_limit(x: np.ndarray, low_hz: float | None, high_hz: float | None, sample_rate: int = 16000,
               order: int = 6) -> np.ndarray:
    """A cheap microphone's pass band: Butterworth high-pass at ``low_hz`` and low-pass at ``high_hz``."""
    from scipy.signal import butter, sosfilt

    y = np.asarray(x, dtype=np.float64)
    nyq = sample_rate / 2.0
    if high_hz is not None and high_hz < nyq:
        y = sosfilt(butter(order, high_hz / nyq, btype="low", output="sos"), y)
    if low_hz is not None and low_hz > 0:
        y = sosfilt(butter(max(2, order // 2), low_hz / nyq, btype="high", output="sos"), y)
    return y.astype(np.float32)


def peaking_eq(x: np.ndarray, freq_hz: float, gain_db: float, q: float = 1.0,
               sample_rate: int = 16000) -> np.ndarray:
    """One peaking-EQ biquad (RBJ cookbook): +/- ``gain_db`` around ``freq_hz``."""
    from scipy.signal import lfilter

    a = 10.0 ** (gain_db / 40.0)
    w0 = 2.0 * np.pi * freq_hz / sample_rate
    alpha = np.sin(w0) / (2.0 * q)
    b = np.array([1 + alpha * a, -2 * np.cos(w0), 1 - alpha * a])
    den = np.array([1 + alpha / a, -2 * np.cos(w0), 1 - alpha / a])
    return lfilter(b / den[0], den / den[0], np.asarray(x, np.float64)).astype(np.float32)


def synthetic_rir(rt60: float, drr_db: float, rng: np.random.Generator, sample_rate: int = 16000) -> np.ndarray:
    """A room impulse response: direct path, a few early reflections, then an exponentially decaying
    diffuse tail whose high frequencies die faster (air and wall absorption).

    ``rt60``: time for the tail to fall by 60 dB. ``drr_db``: direct-to-reverberant energy ratio
    (high = close talker). Statistical model (Polack): good enough to teach a model what echo
    sounds like, without simulating a room's geometry.
    """
    from scipy.signal import butter, sosfilt

    n = int(min(rt60 * 1.2, 1.2) * sample_rate) + 1
    t = np.arange(n) / sample_rate
    decay = np.exp(-6.9078 * t / rt60)  # 60 dB at t = rt60
    tail = rng.standard_normal(n) * decay
    # a low-passed copy decays faster: mix so the tail's brightness falls over time
    dark = sosfilt(butter(2, 0.25, output="sos"), rng.standard_normal(n)) * np.exp(-6.9078 * t / (0.6 * rt60))
    tail = 0.5 * tail + 0.5 * dark * 2.0
    onset = int(0.003 * sample_rate)  # the diffuse field starts a few ms after the direct sound
    tail[:onset] = 0.0
    for _ in range(int(rng.integers(3, 8))):  # early reflections, 2-40 ms
        k = int(rng.uniform(0.002, 0.04) * sample_rate)
        if k < n:
            tail[k] += float(rng.uniform(-0.6, 0.6)) * float(np.sqrt(np.sum(tail**2) / max(n, 1))) * 8.0
    e_tail = float(np.sum(tail**2))
    rir = tail * np.sqrt(10.0 ** (-drr_db / 10.0) / max(e_tail, 1e-12))
    rir[0] += 1.0  # the direct path, unit energy
    return rir.astype(np.float32)


def reverberate(x: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """``x`` convolved with ``rir``, cut to ``x``'s length (the tail past the window is lost, as in a clip)."""
    from scipy.signal import fftconvolve

    x = np.asarray(x, dtype=np.float32)
    return fftconvolve(x.astype(np.float64), np.asarray(rir, np.float64))[: x.shape[0]].astype(np.float32)


def microphone(x: np.ndarray, cfg: ChannelConfig, rng: np.random.Generator, sample_rate: int = 16000) -> np.ndarray:
    """The recording channel: maybe a band limit, maybe 1-3 EQ bands (each drawn from ``rng``)."""
    y = np.asarray(x, dtype=np.float32)
    if rng.uniform() < cfg.bandlimit_probability:
        y = band_limit(y, float(rng.uniform(*cfg.highpass_hz)), float(rng.uniform(*cfg.lowpass_hz)), sample_rate)
    if rng.uniform() < cfg.eq_probability:
        for _ in range(int(rng.integers(1, 4))):
            freq = float(np.exp(rng.uniform(np.log(150.0), np.log(6000.0))))
            y = peaking_eq(y, freq, float(rng.uniform(*cfg.eq_db)), float(rng.uniform(0.5, 2.0)), sample_rate)
    return y
