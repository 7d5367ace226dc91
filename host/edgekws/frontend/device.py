"""The "device-exact" twin of the C feature frontend (firmware/src/frontend).

Why a second implementation: the host frontend (:mod:`edgekws.frontend.features`)
uses scipy's FFT and BLAS matrix products, whose float32 rounding differs from
what the Cortex-M7 computes by ~1e-6 relative. That is far below anything a
model sees, but at an int8 rounding boundary it flips one LSB. This module
performs *the device's float32 operations in the device's order*, vectorised
over frames with numpy, so its features are bit-identical to the C code's
(the tests check it against the C built for the host; QEMU's soft-float VFP is
IEEE too). Training on these features makes the model see exactly what the
device feeds it. Select it with ``FrontendConfig(exact="device")``.

The computation (and the C, step for step; every sum runs in index order):

1. ``x = (float)pcm * 2^-15`` (exact; float audio from ``load_audio`` is already
   this) times the periodic Hann window :func:`~edgekws.frontend.hann_window`;
2. packed real FFT: ``z[n] = x[2n] + i x[2n+1]`` in bit-reversed order, an
   ``M = n_fft / 2`` point radix-2 decimation-in-time complex FFT (butterfly
   ``t = b * w`` as ``(br*wr - bi*wi, br*wi + bi*wr)``, ``a +- t``), then the
   split into real-FFT bins ``2X[k] = A + W^k (-i B)`` with
   ``A = Z[k] + conj(Z[M-k])``, ``B = Z[k] - conj(Z[M-k])``; power
   ``(Xr^2 + Xi^2) * 0.25`` for the bins the mel bands use (``sqrtf`` of it for
   ``spectrum="magnitude"``);
3. sparse mel: per band, the sum over its nonzero weights in bin order;
4. ``10 log10(max(mel, log_floor))`` (``ln(mel + log_floor)`` for ``log="ln"``) with the
   device's own log (exponent from the float bits, ``atanh`` series for the mantissa;
   below 1e-6 relative);
5. MFCC: DCT rows, sum over bands in order;
6. int8: ``t = (f - mean) / std``, ``t = t / scale``, round half to even,
   ``+ zero_point``, clamp: the host's :func:`edgekws.compress.quantize.quantize_input`
   on normalised features, operation for operation.

The tables (:class:`DeviceTables`) are the very numbers
:mod:`edgekws.frontend.ctables` writes into the firmware.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from edgekws.errors import ConfigError
from edgekws.frontend.config import FrontendConfig

#: int16 PCM to float: libsndfile's ``k / 32768`` (a power of two, so exact).
PCM_SCALE = np.float32(1.0 / 32768.0)
#: ``10 / ln(10)``: decibels per neper of power.
DB_PER_NEPER = np.float32(10.0 / math.log(10.0))
#: ``10 log10(2)``: decibels per octave of power.
DB_PER_OCTAVE = np.float32(10.0 * math.log10(2.0))
#: ``ln 2``: nepers per octave.
LN_2 = np.float32(math.log(2.0))
#: Coefficients of ``atanh(s)/s = 1 + s^2/3 + s^4/5 + ...`` (Horner, highest first).
#: Computed as float32 divisions, as the C compiler folds ``1.0f / 9.0f``.
LOG_SERIES = tuple(np.float32(1.0) / np.float32(d) for d in (9.0, 7.0, 5.0, 3.0))

#: Frames per numpy pass of the twin: bounds scratch memory (~10 MB) for any batch.
_FRAMES_PER_PASS = 1024


def _exact_unit_circle(angle: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """cos/sin in float64 with the exact zeros at multiples of pi/2 (so trivial twiddles are exact)."""
    c, s = np.cos(angle), np.sin(angle)
    c[np.abs(c) < 1e-12] = 0.0
    s[np.abs(s) < 1e-12] = 0.0
    return c, s


def bit_reverse(m: int) -> np.ndarray:
    """``rev[i]``: ``i`` with its ``log2(m)`` bits reversed, uint16 ``[m]``."""
    bits = m.bit_length() - 1
    i = np.arange(m)
    rev = np.zeros(m, dtype=np.int64)
    for b in range(bits):
        rev |= ((i >> b) & 1) << (bits - 1 - b)
    return rev.astype(np.uint16)


def check_device_config(cfg: FrontendConfig) -> None:
    """Refuse configs the C frontend cannot compute, with one line each."""
    if cfg.kind == "tflm-micro":
        from edgekws.frontend.micro import micro_tables

        micro_tables(cfg)  # raises ConfigError for a filterbank or PCAN setting it cannot build
        return
    n = cfg.n_fft
    if n < 4 or n & (n - 1):
        raise ConfigError(f"frontend config {cfg.name!r}: the device frontend needs a power-of-two "
                          f"n_fft >= 4, got {n}")
    if n > 32768 or cfg.win_length > 65535 or cfg.hop_length > 65535:
        raise ConfigError(f"frontend config {cfg.name!r}: the device frontend supports n_fft <= 32768 "
                          "and window/hop up to 65535 samples")


@dataclass(frozen=True, eq=False)
class DeviceTables:
    """The constant tables of the device frontend for one config (all read-only numpy arrays).

    ``fft_twiddle [M/2, 2]``: ``(cos, -sin)(2 pi j / M)``, the DIT butterfly factors;
    ``rfft_twiddle [n_used, 2]``: ``(cos, sin)(2 pi k / n_fft)`` for the real-FFT split;
    ``bitrev [M]``; the mel weights as ``mel_start``/``mel_count`` (first bin and number of
    bins per band) and ``mel_weight`` (all bands' weights concatenated); ``dct [n_out, n_mels]``
    (None for log-mel output).
    """

    cfg: FrontendConfig
    window: np.ndarray
    fft_twiddle: np.ndarray
    rfft_twiddle: np.ndarray
    bitrev: np.ndarray
    n_used: int
    mel_start: np.ndarray
    mel_count: np.ndarray
    mel_offset: np.ndarray
    mel_weight: np.ndarray
    dct: np.ndarray | None
    log_floor: np.float32

    @property
    def fft_len(self) -> int:
        """Points of the complex FFT (``n_fft / 2``)."""
        return self.cfg.n_fft // 2

    @property
    def span(self) -> int:
        """Samples a streaming device keeps to cut one frame: whole hops covering the window."""
        hops = -(-self.cfg.win_length // self.cfg.hop_length)
        return hops * self.cfg.hop_length


def _ro(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


@lru_cache(maxsize=16)
def device_tables(cfg: FrontendConfig) -> DeviceTables:
    """Build (and cache) the device tables of ``cfg`` from the host's public tables."""
    from edgekws.frontend.features import dct_matrix, hann_window, mel_filterbank

    if cfg.kind != "mel":
        raise ConfigError(f"frontend config {cfg.name!r}: device_tables is for kind='mel' "
                          "(tflm-micro: edgekws.frontend.micro.micro_tables)")
    check_device_config(cfg)
    m = cfg.n_fft // 2
    c, s = _exact_unit_circle(2.0 * np.pi * np.arange(m // 2) / m)
    fft_tw = np.stack([c, -s], axis=1).astype(np.float32)
    mel = mel_filterbank(cfg)
    starts, counts, weights = [], [], []
    last = 0
    for band in mel:
        nz = np.flatnonzero(band)
        if nz.size == 0:
            starts.append(0)
            counts.append(0)
            continue
        lo, hi = int(nz[0]), int(nz[-1]) + 1
        starts.append(lo)
        counts.append(hi - lo)
        weights.append(band[lo:hi])
        last = max(last, hi)
    n_used = max(last, 1)
    rc, rs = _exact_unit_circle(2.0 * np.pi * np.arange(n_used) / cfg.n_fft)
    counts_a = np.asarray(counts, dtype=np.uint16)
    offsets = np.concatenate([[0], np.cumsum(counts_a, dtype=np.int64)[:-1]]).astype(np.int64)
    return DeviceTables(
        cfg=cfg,
        window=hann_window(cfg.win_length),
        fft_twiddle=_ro(fft_tw),
        rfft_twiddle=_ro(np.stack([rc, rs], axis=1).astype(np.float32)),
        bitrev=_ro(bit_reverse(m)),
        n_used=n_used,
        mel_start=_ro(np.asarray(starts, dtype=np.uint16)),
        mel_count=_ro(counts_a),
        mel_offset=_ro(offsets),
        mel_weight=_ro(np.concatenate(weights).astype(np.float32) if weights else np.zeros(0, np.float32)),
        dct=dct_matrix(cfg) if cfg.is_mfcc else None,
        log_floor=np.float32(cfg.log_floor),
    )


# ---- the computation, vectorised over frames -------------------------------
# Arrays are laid out [values, frames]: every butterfly and sum then runs over a
# contiguous row of frames, whatever the FFT stage, which keeps numpy fast.

def _fft_power(frames_t: np.ndarray, t: DeviceTables) -> np.ndarray:
    """Windowed frames ``[win, F]`` -> power ``[n_used, F]`` exactly as fe_fft.c computes it."""
    cfg = t.cfg
    m = t.fft_len
    f = frames_t.shape[1]
    x = np.zeros((2 * m, f), dtype=np.float32)
    x[: cfg.win_length] = frames_t
    re = x[0::2][t.bitrev]
    im = x[1::2][t.bitrev]
    tr = np.empty((m // 2, f), dtype=np.float32)
    ti = np.empty_like(tr)
    tmp = np.empty_like(tr)
    h = 1
    while h < m:
        g = m // (2 * h)
        w = t.fft_twiddle[np.arange(h) * g]
        wr, wi = w[:, 0, None], w[:, 1, None]
        rv, iv = re.reshape(g, 2, h, f), im.reshape(g, 2, h, f)
        ar, ai, br, bi = rv[:, 0], iv[:, 0], rv[:, 1], iv[:, 1]
        trv, tiv, tmpv = tr.reshape(g, h, f), ti.reshape(g, h, f), tmp.reshape(g, h, f)
        np.multiply(br, wr, out=trv)  # tr = br*wr - bi*wi
        np.multiply(bi, wi, out=tmpv)
        trv -= tmpv
        np.multiply(br, wi, out=tiv)  # ti = br*wi + bi*wr
        np.multiply(bi, wr, out=tmpv)
        tiv += tmpv
        np.subtract(ar, trv, out=br)
        np.subtract(ai, tiv, out=bi)
        ar += trv
        ai += tiv
        h *= 2
    k = np.arange(t.n_used)
    kk, kc = k & (m - 1), (m - k) & (m - 1)
    zr, zi, cr, ci = re[kk], im[kk], re[kc], im[kc]
    a_r, a_i = zr + cr, zi - ci
    b_r, b_i = zr - cr, zi + ci
    c, s = t.rfft_twiddle[:, 0, None], t.rfft_twiddle[:, 1, None]
    xr = a_r + (c * b_i - s * b_r)
    xi = a_i - (c * b_r + s * b_i)
    power = (xr * xr + xi * xi) * np.float32(0.25)
    return np.sqrt(power) if cfg.spectrum == "magnitude" else power  # IEEE sqrt: sqrtf on the device


def _mel(power: np.ndarray, t: DeviceTables) -> np.ndarray:
    """Sparse mel sums ``[n_mels, F]``, each band summed over its bins in order (from +0)."""
    n_mels = t.mel_count.size
    acc = np.zeros((n_mels, power.shape[1]), dtype=np.float32)
    counts = t.mel_count.astype(np.int64)
    for j in range(int(counts.max()) if counts.size else 0):
        live = np.flatnonzero(counts > j)
        w = t.mel_weight[t.mel_offset[live] + j]
        acc[live] += w[:, None] * power[t.mel_start[live].astype(np.int64) + j]
    return acc


def _log_parts(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``v = m * 2^e``, ``m`` in ``[sqrt(1/2), sqrt(2))``: ``(e as float32, ln m)`` as the C computes them."""
    bits = v.view(np.uint32)
    e = ((bits >> np.uint32(23)) & np.uint32(0xFF)).astype(np.int32) - 127
    mant = bits & np.uint32(0x7FFFFF)
    big = mant > np.uint32(0x3504F3)  # mantissa above sqrt(2): use m/2 and e+1
    m = (mant | np.where(big, np.uint32(0x3F000000), np.uint32(0x3F800000))).view(np.float32)
    e = e + big.astype(np.int32)
    one = np.float32(1.0)
    s = (m - one) / (m + one)
    s2 = s * s
    p = LOG_SERIES[0]
    for coef in LOG_SERIES[1:]:
        p = p * s2 + coef
    p = p * s2 + one
    return e.astype(np.float32), (s + s) * p


def device_log_db(mel: np.ndarray, log_floor: np.float32) -> np.ndarray:
    """``10 log10(max(mel, floor))`` as fe_log_db() in frontend.c computes it, float32.

    ``v = m * 2^e`` with ``m`` in ``[sqrt(1/2), sqrt(2))`` read off the float's bits;
    ``ln m = 2 s (1 + s^2/3 + ... + s^8/9)``, ``s = (m - 1) / (m + 1)``, ``|s| < 0.172``
    (truncation error < 1e-9 relative); result ``e * 10log10(2) + ln m * 10/ln 10``.
    Own code rather than libm's log10f so that host and device agree to the bit.
    """
    e, ln_m = _log_parts(np.maximum(np.asarray(mel, dtype=np.float32), log_floor))
    return e * DB_PER_OCTAVE + ln_m * DB_PER_NEPER


def device_log_ln(mel: np.ndarray, log_floor: np.float32) -> np.ndarray:
    """``ln(mel + floor)`` as fe_log_ln() in frontend.c computes it (``log="ln"``), float32."""
    e, ln_m = _log_parts(np.asarray(mel, dtype=np.float32) + log_floor)
    return e * LN_2 + ln_m


def _dct(logmel: np.ndarray, dct: np.ndarray) -> np.ndarray:
    """``[n_out, F]``: each coefficient summed over the bands in order (from +0)."""
    out = np.zeros((dct.shape[0], logmel.shape[1]), dtype=np.float32)
    for n in range(dct.shape[1]):
        out += dct[:, n, None] * logmel[n]
    return out


def frame_features(frames: np.ndarray, cfg: FrontendConfig, *, mfcc: bool = True) -> np.ndarray:
    """Device features of audio frames ``[F, win]`` (float samples, not yet windowed): ``[F, feats]``."""
    t = device_tables(cfg)
    out_feats = cfg.num_features if (mfcc and cfg.is_mfcc) else cfg.n_mels
    out = np.empty((frames.shape[0], out_feats), dtype=np.float32)
    window = t.window[:, None]
    for start in range(0, frames.shape[0], _FRAMES_PER_PASS):
        chunk = np.asarray(frames[start : start + _FRAMES_PER_PASS], dtype=np.float32).T * window
        mel = _mel(_fft_power(chunk, t), t)
        logmel = device_log_ln(mel, t.log_floor) if cfg.log == "ln" else device_log_db(mel, t.log_floor)
        res = _dct(logmel, t.dct) if (mfcc and t.dct is not None) else logmel
        out[start : start + chunk.shape[1]] = res.T
    return out


def device_features(audio: np.ndarray, cfg: FrontendConfig, *, mfcc: bool = True) -> np.ndarray:
    """What the C frontend computes (``fe_extract_float``), for ``[n]`` or ``[N, n]`` float audio.

    Bit-identical to the device for int16-representable audio (``k / 32768``, what
    ``load_audio`` returns for 16-bit WAVs). Same shapes, checks and errors as
    :func:`edgekws.frontend.compute_features`; ``mfcc=False`` gives the log-mel bands.
    """
    from edgekws.frontend.features import as_audio_array, frame_signal

    if cfg.kind == "tflm-micro":
        from edgekws.frontend.micro import micro_features

        return micro_features(audio, cfg)  # integer arithmetic: the host result is the device's
    x = as_audio_array(audio, cfg)
    frames = frame_signal(x, cfg)  # a strided view: copied only chunk by chunk below
    if x.ndim == 1:
        return frame_features(frames, cfg, mfcc=mfcc)
    n_clips, n_frames = frames.shape[0], frames.shape[1]
    n_out = cfg.num_features if (mfcc and cfg.is_mfcc) else cfg.n_mels
    out = np.empty((n_clips, n_frames, n_out), dtype=np.float32)
    step = max(1, _FRAMES_PER_PASS // max(1, n_frames))
    for start in range(0, n_clips, step):
        chunk = frames[start : start + step]
        feats = frame_features(chunk.reshape(-1, cfg.win_length), cfg, mfcc=mfcc)
        out[start : start + len(chunk)] = feats.reshape(len(chunk), n_frames, n_out)
    return out


def pcm16_features(pcm: np.ndarray, cfg: FrontendConfig) -> np.ndarray:
    """Device features of int16 PCM (what the board receives): ``pcm * 2^-15`` then :func:`device_features`."""
    p = np.asarray(pcm)
    if p.dtype != np.int16:
        raise ConfigError(f"pcm16_features needs int16 samples, got {p.dtype}")
    return device_features(p.astype(np.float32) * PCM_SCALE, cfg)


def quantize_features(features: np.ndarray, mean: np.ndarray, std: np.ndarray, scale: float,
                      zero_point: int) -> np.ndarray:
    """int8 model input from features, exactly as the device does it (and as the host pipeline does).

    ``q = clamp(round_half_even(((f - mean) / std) / scale) + zero_point, -128, 127)`` in float32:
    the same operations as ``FeatureData.norm`` followed by ``quantize_input``.
    """
    f = np.asarray(features, dtype=np.float32)
    t = (f - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    t = t / np.float32(scale)
    q = np.round(t) + int(zero_point)
    return np.clip(q, -128, 127).astype(np.int8)
