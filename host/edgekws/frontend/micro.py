"""TensorFlow Lite Micro's audio frontend ("microfrontend"), integer for integer (``kind="tflm-micro"``).

Why a reimplementation: models trained on TFLM's frontend (micro_speech, the
MLPerf Tiny DS-CNN as vendors ship it) must see exactly its numbers, on the host
(training, evaluation) and on the device (firmware/src/frontend/fe_micro*.c,
which uses the tables :func:`micro_tables` builds). The pipeline is all integer
arithmetic, so one implementation here is both the host frontend and the
bit-exact twin of the C; the tests check both against TensorFlow's own
``audio_microfrontend`` op and against ``pymicro-features``.

Per frame of ``win`` int16 samples (frame ``t`` covers ``[t*hop, t*hop + win)``):

1. window: ``(x * w) >> 12`` with ``w = floor(4096 (0.5 - 0.5 cos(2 pi (i + 0.5) / win)) + 0.5)``;
   the frame is then shifted left so its largest magnitude uses 15 bits (``shift``);
2. real FFT of ``fft_size`` (next power of two >= ``win``) points in 16-bit fixed point,
   KISS FFT's algorithm: a complex FFT of half the size in radix-4 stages (one radix-2
   stage for odd powers), inputs divided by the radix at every stage with rounding, then
   the real-FFT split; energy ``re^2 + im^2`` per bin;
3. filterbank: ``n_mels + 1`` mel-spaced band edges between ``fmin`` and ``fmax``; each
   bin's energy adds ``weight`` (12-bit) to its band and ``1 - weight`` to the next, in
   64-bit sums; ``sqrt`` rounded to nearest, ``>> shift``;
4. noise reduction: a per-channel running noise estimate (even/odd channels smoothed
   differently) subtracted, keeping at least ``min_signal_remaining`` of the signal;
5. PCAN (optional): gain from the noise estimate through a piecewise-quadratic table, then
   a soft "shrink";
6. log scale: integer ``log`` (log2 with a 128-segment correction table) scaled by
   ``2^log_scale_shift``, saturated to uint16.

Steps 4 and 5 keep state across frames (the noise estimate): a clip starts from zero, and
a stream carries it on (:class:`MicroState`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from edgekws.errors import ConfigError
from edgekws.frontend.config import FrontendConfig, MicroParams

WINDOW_BITS = 12
FILTERBANK_BITS = 12
NOISE_REDUCTION_BITS = 14
PCAN_SNR_BITS = 12
PCAN_OUTPUT_BITS = 6
WIDE_DYNAMIC_BITS = 32
PCAN_LUT_SIZE = 4 * WIDE_DYNAMIC_BITS - 3
LOG_SCALE_LOG2 = 16
LOG_SEGMENTS_LOG2 = 7
#: ``round(ln 2 * 2^16)``: log2 to natural log in 16-bit fixed point.
LOG_COEFF = 45426
SAMP_MAX = 32767


@dataclass(frozen=True, eq=False)
class MicroTables:
    """Constants of the TFLM frontend for one config (read-only numpy arrays, plain ints).

    ``fft_perm [ncfft]``: input index of every position before the first butterfly stage;
    ``fft_stages``: ``(radix, m, fstride)`` from the innermost stage out; ``twiddle [ncfft, 2]``
    and ``super_twiddle [ncfft/2, 2]``: 16-bit ``(cos, sin)``; ``chan_start``/``chan_width``
    ``[n_mels + 1]``: first FFT bin and bin count of each band; ``weight``/``unweight``: 12-bit
    weights of the bands' bins concatenated; ``pcan_lut [125]`` (zeros when PCAN is off);
    ``log_lut [130]``.
    """

    cfg: FrontendConfig
    params: MicroParams
    window: np.ndarray
    fft_size: int
    fft_perm: np.ndarray
    fft_stages: tuple[tuple[int, int, int], ...]
    twiddle: np.ndarray
    super_twiddle: np.ndarray
    start_index: int
    end_index: int
    chan_start: np.ndarray
    chan_width: np.ndarray
    weight: np.ndarray
    unweight: np.ndarray
    even_smoothing: int
    odd_smoothing: int
    min_signal_remaining: int
    pcan_lut: np.ndarray
    snr_shift: int
    correction_bits: int
    log_lut: np.ndarray

    @property
    def ncfft(self) -> int:
        return self.fft_size // 2


def _ro(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def _f32(v: float) -> float:
    """Round to float32 (what a C ``float`` variable holds)."""
    return float(np.float32(v))


def _freq_to_mel(freq: float) -> float:
    # float FreqToMel(float f) { return 1127.0 * log1p(f / 700.0); }: double inside, float out
    return _f32(1127.0 * math.log1p(_f32(freq) / 700.0))


def window_coefficients(win: int) -> np.ndarray:
    """12-bit Hann window, sampled at the half-sample points as TFLM does (int16 ``[win]``)."""
    arg = _f32(math.pi * 2.0 / _f32(win))
    out = np.empty(win, np.int16)
    for i in range(win):
        value = _f32(0.5 - 0.5 * math.cos(arg * (i + 0.5)))
        out[i] = math.floor(_f32(value * (1 << WINDOW_BITS)) + 0.5)
    return out


def _kiss_factors(n: int) -> list[tuple[int, int]]:
    """KISS FFT's factorisation: powers of 4 first, then 2, then odd primes; ``[(p, m), ...]``."""
    out, p, floor_sqrt = [], 4, math.floor(math.sqrt(n))
    while True:
        while n % p:
            p = {4: 2, 2: 3}.get(p, p + 2)
            if p > floor_sqrt:
                p = n
        n //= p
        out.append((p, n))
        if n <= 1:
            return out


def _kiss_perm(n: int, factors: list[tuple[int, int]]) -> np.ndarray:
    """Where each position of the first stage's buffer reads its input (the recursion's leaves)."""
    perm = np.zeros(n, np.int64)

    def work(out: int, f: int, fstride: int, level: int) -> None:
        p, m = factors[level]
        for k in range(p):
            if m == 1:
                perm[out + k] = f + k * fstride
            else:
                work(out + k * m, f + k * fstride, fstride * p, level + 1)

    work(0, 0, 1, 0)
    return perm


def _cexp16(phase: float) -> tuple[int, int]:
    return math.floor(0.5 + SAMP_MAX * math.cos(phase)), math.floor(0.5 + SAMP_MAX * math.sin(phase))


def _pcan_gain(params: MicroParams, input_bits: int, x: int) -> int:
    """TFLM's PcanGainLookupFunction in float32 (``powf`` from the C library where there is one)."""
    xf = _f32(_f32(x) / _f32(1 << input_bits))
    base = _f32(xf + _f32(params.pcan_offset))
    gain = _f32(_f32(1 << params.pcan_gain_bits) * _powf(base, _f32(-params.pcan_strength)))
    if gain > 0x7FFF:
        return 0x7FFF
    return int(_f32(gain + 0.5))


@lru_cache(maxsize=1)
def _libm_powf():  # noqa: ANN202 - a ctypes function or None
    name = ctypes.util.find_library("m")
    if not name:
        return None
    try:
        fn = ctypes.CDLL(name).powf
    except (OSError, AttributeError):
        return None
    fn.restype, fn.argtypes = ctypes.c_float, [ctypes.c_float, ctypes.c_float]
    return fn


def _powf(a: float, b: float) -> float:
    # The C library's powf is what TFLM calls; float64 pow rounded to float32 differs from it
    # at most in the last bit, rarely, but that can move a gain across a rounding boundary.
    fn = _libm_powf()
    return float(fn(a, b)) if fn is not None else _f32(math.pow(a, b))


def _pcan_lut(params: MicroParams, input_bits: int) -> np.ndarray:
    lut = np.zeros(PCAN_LUT_SIZE, np.int64)
    lut[0] = _pcan_gain(params, input_bits, 0)
    lut[1] = _pcan_gain(params, input_bits, 1)
    for interval in range(2, WIDE_DYNAMIC_BITS + 1):
        x0 = 1 << (interval - 1)
        x1 = x0 + (x0 >> 1)
        x2 = x0 + (x0 - 1) if interval == WIDE_DYNAMIC_BITS else 2 * x0
        y0, y1, y2 = (_pcan_gain(params, input_bits, v) for v in (x0, x1, x2))
        diff1, diff2 = y1 - y0, y2 - y0
        a1 = 4 * diff1 - diff2
        base = 4 * interval - 6
        lut[base: base + 3] = (y0, a1, diff2 - a1)
    return ((lut + 32768) % 65536 - 32768).astype(np.int16)


def log_lut() -> np.ndarray:
    """``round(2^16 (log2(1 + i/128) - i/128))`` for ``i = 0..128``, plus one zero of padding."""
    i = np.arange(129, dtype=np.float64)
    vals = np.round((np.log2(1.0 + i / 128.0) - i / 128.0) * (1 << LOG_SCALE_LOG2))
    return np.concatenate([vals, [0.0]]).astype(np.uint16)


def _filterbank(cfg: FrontendConfig, spectrum_size: int) -> tuple[int, int, list[int], list[int], list[int], list[int]]:
    """TFLM's FilterbankPopulateState, float32 step for step; returns start/end bins and the bands."""
    n = cfg.n_mels + 1
    lower, upper = _f32(cfg.fmin), _f32(cfg.fmax)
    mel_low, mel_hi = _freq_to_mel(lower), _freq_to_mel(upper)
    spacing = _f32(_f32(mel_hi - mel_low) / _f32(n))
    centers = [_f32(mel_low + _f32(spacing * (i + 1))) for i in range(n)]
    hz_per_bin = _f32(0.5 * cfg.sample_rate / (_f32(spectrum_size) - 1))
    start_index = int(1.5 + _f32(lower / hz_per_bin))
    starts, widths, weights, unweights = [], [], [], []
    freq = start_index
    end_index = 0
    for chan in range(n):
        first = freq
        while _freq_to_mel(_f32(freq * hz_per_bin)) <= centers[chan]:
            freq += 1
            if freq > spectrum_size + 1:
                raise ConfigError(f"frontend config {cfg.name!r}: the filterbank's upper band limit "
                                  f"{cfg.fmax:g} Hz is above what the {cfg.n_fft}-point FFT resolves")
        starts.append(first)
        widths.append(freq - first)
        denom = mel_low if chan == 0 else centers[chan - 1]
        for f in range(first, freq):
            w = _f32(_f32(centers[chan] - _freq_to_mel(_f32(f * hz_per_bin))) / _f32(centers[chan] - denom))
            weights.append(math.floor(_f32(w * (1 << FILTERBANK_BITS)) + 0.5))
            unweights.append(math.floor((1.0 - w) * (1 << FILTERBANK_BITS) + 0.5))
        end_index = max(end_index, freq)
    if end_index >= spectrum_size:
        raise ConfigError(f"frontend config {cfg.name!r}: the filterbank ends at FFT bin {end_index}, beyond "
                          f"the {spectrum_size} bins (upper band limit {cfg.fmax:g} Hz too close to Nyquist)")
    return start_index, end_index, starts, widths, weights, unweights


@lru_cache(maxsize=16)
def micro_tables(cfg: FrontendConfig) -> MicroTables:
    """Build (and cache) the tables of a ``kind="tflm-micro"`` config; ConfigError if it cannot be computed."""
    if cfg.kind != "tflm-micro" or cfg.micro is None:
        raise ConfigError(f"frontend config {cfg.name!r} is not a tflm-micro config")
    params = cfg.micro
    fft_size = cfg.n_fft
    ncfft = fft_size // 2
    factors = _kiss_factors(ncfft)
    if any(p not in (2, 4) for p, _ in factors):
        raise ConfigError(f"frontend config {cfg.name!r}: FFT size {fft_size} is not a power of two")
    stages, fstride = [], 1
    for p, m in factors:
        stages.append((p, m, fstride))
        fstride *= p
    twiddle = np.array([_cexp16(-2 * math.pi * i / ncfft) for i in range(ncfft)], np.int16)
    sup = np.array([_cexp16(-3.14159265358979323846264338327 * ((i + 1) / ncfft + 0.5))
                    for i in range(ncfft // 2)], np.int16).reshape(-1, 2)
    start, end, starts, widths, weights, unweights = _filterbank(cfg, ncfft + 1)
    correction = (fft_size.bit_length()) - 1 - FILTERBANK_BITS // 2
    input_bits = params.smoothing_bits - correction
    snr_shift = params.pcan_gain_bits - correction - PCAN_SNR_BITS
    if params.pcan and (input_bits < 0 or snr_shift < 0):
        raise ConfigError(f"frontend config {cfg.name!r}: PCAN needs smoothing_bits >= {correction} and "
                          f"pcan_gain_bits >= {correction + PCAN_SNR_BITS} at FFT size {fft_size}")
    pcan = _pcan_lut(params, input_bits) if params.pcan else np.zeros(PCAN_LUT_SIZE, np.int16)
    return MicroTables(
        cfg=cfg, params=params,
        window=_ro(window_coefficients(cfg.win_length)),
        fft_size=fft_size,
        fft_perm=_ro(_kiss_perm(ncfft, factors).astype(np.uint16)),
        fft_stages=tuple(reversed(stages)),
        twiddle=_ro(twiddle), super_twiddle=_ro(sup),
        start_index=start, end_index=end,
        chan_start=_ro(np.asarray(starts, np.uint16)), chan_width=_ro(np.asarray(widths, np.uint16)),
        weight=_ro(np.asarray(weights, np.int16)), unweight=_ro(np.asarray(unweights, np.int16)),
        even_smoothing=int(_f32(_f32(params.even_smoothing) * (1 << NOISE_REDUCTION_BITS))),
        odd_smoothing=int(_f32(_f32(params.odd_smoothing) * (1 << NOISE_REDUCTION_BITS))),
        min_signal_remaining=int(_f32(_f32(params.min_signal_remaining) * (1 << NOISE_REDUCTION_BITS))),
        pcan_lut=_ro(pcan), snr_shift=snr_shift, correction_bits=correction,
        log_lut=_ro(log_lut()),
    )


# ---- the arithmetic, vectorised over frames (int64 arrays holding C's narrower types) ------

def _wrap16(a: np.ndarray) -> np.ndarray:
    return ((a + 32768) & 0xFFFF) - 32768


def _wrap32(a: np.ndarray) -> np.ndarray:
    return ((a + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def _sround(a: np.ndarray) -> np.ndarray:
    return _wrap16((_wrap32(a) + (1 << 14)) >> 15)


def _fixdiv(a: np.ndarray, k: int) -> np.ndarray:
    return _sround(a * (SAMP_MAX // k))


def _cmul(ar: np.ndarray, ai: np.ndarray, br: np.ndarray, bi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return _sround(_wrap32(ar * br) - _wrap32(ai * bi)), _sround(_wrap32(ar * bi) + _wrap32(ai * br))


def _msb(v: np.ndarray) -> np.ndarray:
    """Position of the highest set bit, 1-based (0 for 0), of non-negative values < 2^63."""
    v = np.asarray(v, np.int64)
    out = np.zeros(v.shape, np.int64)
    for b in (32, 16, 8, 4, 2, 1):
        big = (v >> b) > 0
        out = np.where(big, out + b, out)
        v = np.where(big, v >> b, v)
    return out + (v > 0)


def _window(frames: np.ndarray, t: MicroTables) -> tuple[np.ndarray, np.ndarray]:
    """int16 frames ``[F, win]`` -> FFT input ``[F, fft_size]`` (windowed, shifted) and the shifts ``[F]``."""
    y = _wrap16((frames.astype(np.int64) * t.window.astype(np.int64)) >> WINDOW_BITS)
    mag = np.max(_wrap16(np.abs(y)), axis=1)  # int16 negation: -32768 stays -32768
    shift = 15 - _msb(np.maximum(mag, 0))
    buf = np.zeros((frames.shape[0], t.fft_size), np.int64)
    buf[:, : y.shape[1]] = _wrap16((y & 0xFFFF) << shift[:, None])
    return buf, shift


def _rfft(x: np.ndarray, t: MicroTables) -> tuple[np.ndarray, np.ndarray]:
    """KISS FFT 16-bit real FFT of ``x [F, fft_size]``: ``(re, im) [F, ncfft + 1]``."""
    n = t.ncfft
    f = x.shape[0]
    re = x[:, 0::2][:, t.fft_perm.astype(np.int64)].copy()
    im = x[:, 1::2][:, t.fft_perm.astype(np.int64)].copy()
    tw_r, tw_i = t.twiddle[:, 0].astype(np.int64), t.twiddle[:, 1].astype(np.int64)
    for p, m, fstride in t.fft_stages:
        r = re.reshape(f, -1, p, m)
        i = im.reshape(f, -1, p, m)
        u = np.arange(m)
        if p == 2:
            ar, ai = _fixdiv(r[:, :, 0], 2), _fixdiv(i[:, :, 0], 2)
            br, bi = _fixdiv(r[:, :, 1], 2), _fixdiv(i[:, :, 1], 2)
            sr, si = _cmul(br, bi, tw_r[u * fstride], tw_i[u * fstride])
            r[:, :, 1], i[:, :, 1] = _wrap16(ar - sr), _wrap16(ai - si)
            r[:, :, 0], i[:, :, 0] = _wrap16(ar + sr), _wrap16(ai + si)
            continue
        q = [(_fixdiv(r[:, :, k], 4), _fixdiv(i[:, :, k], 4)) for k in range(4)]
        s0 = _cmul(*q[1], tw_r[u * fstride], tw_i[u * fstride])
        s1 = _cmul(*q[2], tw_r[2 * u * fstride], tw_i[2 * u * fstride])
        s2 = _cmul(*q[3], tw_r[3 * u * fstride], tw_i[3 * u * fstride])
        s5 = (_wrap16(q[0][0] - s1[0]), _wrap16(q[0][1] - s1[1]))
        f0 = (_wrap16(q[0][0] + s1[0]), _wrap16(q[0][1] + s1[1]))
        s3 = (_wrap16(s0[0] + s2[0]), _wrap16(s0[1] + s2[1]))
        s4 = (_wrap16(s0[0] - s2[0]), _wrap16(s0[1] - s2[1]))
        r[:, :, 2], i[:, :, 2] = _wrap16(f0[0] - s3[0]), _wrap16(f0[1] - s3[1])
        r[:, :, 0], i[:, :, 0] = _wrap16(f0[0] + s3[0]), _wrap16(f0[1] + s3[1])
        r[:, :, 1], i[:, :, 1] = _wrap16(s5[0] + s4[1]), _wrap16(s5[1] - s4[0])
        r[:, :, 3], i[:, :, 3] = _wrap16(s5[0] - s4[1]), _wrap16(s5[1] + s4[0])
    out_r = np.zeros((f, n + 1), np.int64)
    out_i = np.zeros((f, n + 1), np.int64)
    dc_r, dc_i = _fixdiv(re[:, 0], 2), _fixdiv(im[:, 0], 2)
    out_r[:, 0], out_r[:, n] = _wrap16(dc_r + dc_i), _wrap16(dc_r - dc_i)
    k = np.arange(1, n // 2 + 1)
    pk_r, pk_i = _fixdiv(re[:, k], 2), _fixdiv(im[:, k], 2)
    pn_r, pn_i = _fixdiv(re[:, n - k], 2), _fixdiv(_wrap16(-im[:, n - k]), 2)
    f1_r, f1_i = _wrap16(pk_r + pn_r), _wrap16(pk_i + pn_i)
    f2_r, f2_i = _wrap16(pk_r - pn_r), _wrap16(pk_i - pn_i)
    sw = t.super_twiddle.astype(np.int64)
    tw_r2, tw_i2 = _cmul(f2_r, f2_i, sw[k - 1, 0], sw[k - 1, 1])
    out_r[:, k], out_i[:, k] = _wrap16((f1_r + tw_r2) >> 1), _wrap16((f1_i + tw_i2) >> 1)
    out_r[:, n - k], out_i[:, n - k] = _wrap16((f1_r - tw_r2) >> 1), _wrap16((tw_i2 - f1_i) >> 1)
    return out_r, out_i


def _isqrt_round(v: np.ndarray) -> np.ndarray:
    """TFLM's Sqrt64: floor sqrt plus one when the remainder exceeds the root (round to nearest),
    never past 0xFFFF for inputs below 2^32 nor 0xFFFFFFFF above."""
    v = v.astype(np.uint64)
    r = np.floor(np.sqrt(v.astype(np.float64))).astype(np.uint64)
    r = np.minimum(r, np.uint64(0xFFFFFFFF))
    over = r * r > v
    r = np.where(over, r - np.uint64(1), r)
    under = (r < np.uint64(0xFFFFFFFF)) & ((r + np.uint64(1)) * (r + np.uint64(1)) <= v)
    r = np.where(under, r + np.uint64(1), r)
    cap = np.where(v >> np.uint64(32) == 0, np.uint64(0xFFFF), np.uint64(0xFFFFFFFF))
    up = ((v - r * r) > r) & (r != cap)
    return (r + up.astype(np.uint64)).astype(np.uint64)


def _filterbank_sqrt(re: np.ndarray, im: np.ndarray, shift: np.ndarray, t: MicroTables) -> np.ndarray:
    """Energy per bin, band sums, rounded sqrt ``>> shift``: uint32 values ``[F, n_mels]`` (as int64)."""
    # re^2 + im^2 is stored in an int32 and read back widened: 2^31 (both parts -32768) turns negative.
    energy = _wrap32(re * re + im * im).astype(np.uint64)  # negative -> two's complement in 64 bits
    n = t.chan_width.size
    acc = np.zeros((re.shape[0], n), np.uint64)
    carry = np.zeros((re.shape[0],), np.uint64)
    off = 0
    for c in range(n):
        s, w = int(t.chan_start[c]), int(t.chan_width[c])
        e = energy[:, s: s + w]
        wt = t.weight[off: off + w].astype(np.uint64)
        uw = t.unweight[off: off + w].astype(np.uint64)
        acc[:, c] = carry + (e * wt).sum(axis=1, dtype=np.uint64)
        carry = (e * uw).sum(axis=1, dtype=np.uint64)
        off += w
    root = _isqrt_round(acc[:, 1:])
    return (root >> shift[:, None].astype(np.uint64)).astype(np.int64)


def _wide_dynamic(x: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """TFLM's WideDynamicFunction: int16 gain for uint32 noise estimates ``x`` (as int64)."""
    lut = lut.astype(np.int64)
    small = x <= 2
    interval = _msb(x)
    base = np.clip(4 * interval - 6, 0, lut.size - 3)
    frac = np.where(interval < 11, x << np.maximum(11 - interval, 0), x >> np.maximum(interval - 11, 0)) & 0x3FF
    res = _wrap32((lut[base + 2] * frac) >> 5)
    res = _wrap32(res + _wrap32((lut[base + 1] & 0xFFFFFFFF) << 5))
    res = _wrap32(res * frac)
    res = _wrap32(res + (1 << 14)) >> 15
    res = _wrap16(res + lut[base])
    return np.where(small, lut[np.minimum(x, 2)], res)


def _log_scale(v: np.ndarray, t: MicroTables) -> np.ndarray:
    """TFLM's LogScaleApply for uint32 values ``v`` (int64): uint16 outputs (as int64)."""
    p = t.params
    if not p.log_scale:
        return np.minimum(v, 0xFFFF)
    c = t.correction_bits
    v = (v >> -c) if c < 0 else ((v << c) & 0xFFFFFFFF)
    integer = _msb(v) - 1
    safe = np.maximum(integer, 0)
    frac = _wrap32(v - (np.int64(1) << safe))
    frac = np.where(safe < LOG_SCALE_LOG2, _wrap32(frac << np.maximum(LOG_SCALE_LOG2 - safe, 0)),
                    frac >> np.maximum(safe - LOG_SCALE_LOG2, 0))
    seg = (frac & 0xFFFFFFFF) >> (LOG_SCALE_LOG2 - LOG_SEGMENTS_LOG2)
    seg = np.clip(seg, 0, t.log_lut.size - 2)
    lut = t.log_lut.astype(np.int64)
    c0, c1 = lut[seg], lut[seg + 1]
    rel = _wrap32((c1 - c0) * (frac - seg * (1 << (LOG_SCALE_LOG2 - LOG_SEGMENTS_LOG2)))) >> LOG_SCALE_LOG2
    fraction = (frac + c0 + rel) & 0xFFFFFFFF
    log2 = ((safe << LOG_SCALE_LOG2) + fraction) & 0xFFFFFFFF
    half = 1 << (LOG_SCALE_LOG2 - 1)
    loge = ((LOG_COEFF * log2 + half) >> LOG_SCALE_LOG2) & 0xFFFFFFFF
    scaled = ((((loge << p.log_scale_shift) & 0xFFFFFFFF) + half) & 0xFFFFFFFF) >> LOG_SCALE_LOG2
    return np.minimum(np.where(v > 1, scaled, 0), 0xFFFF)


@dataclass
class MicroState:
    """The frontend's memory between frames: the noise estimate per clip and channel (uint32 as int64)."""

    estimate: np.ndarray

    @classmethod
    def zeros(cls, n_clips: int, n_channels: int) -> MicroState:
        return cls(np.zeros((n_clips, n_channels), np.int64))


def _gain_stages(sig: np.ndarray, state: MicroState, t: MicroTables) -> np.ndarray:
    """Noise reduction then PCAN for one frame of every clip: ``sig [N, C]`` uint32 (int64)."""
    p = t.params
    if p.noise_reduction:
        ch = np.arange(sig.shape[1])
        smooth = np.where(ch % 2 == 0, t.even_smoothing, t.odd_smoothing).astype(np.int64)
        up = (sig << p.smoothing_bits) & 0xFFFFFFFF
        est = ((up * smooth + state.estimate * ((1 << NOISE_REDUCTION_BITS) - smooth))
               >> NOISE_REDUCTION_BITS) & 0xFFFFFFFF
        state.estimate = est
        est = np.minimum(est, up)
        floor = ((sig * t.min_signal_remaining) >> NOISE_REDUCTION_BITS) & 0xFFFFFFFF
        sig = np.maximum((up - est) >> p.smoothing_bits, floor)
    if p.pcan:
        gain = _wide_dynamic(state.estimate, t.pcan_lut) & 0xFFFFFFFF
        snr = ((sig.astype(np.uint64) * gain.astype(np.uint64)) >> np.uint64(t.snr_shift)).astype(np.uint64)
        snr = (snr & np.uint64(0xFFFFFFFF)).astype(np.int64)
        small = snr < (2 << PCAN_SNR_BITS)
        shr = 2 + 2 * PCAN_SNR_BITS - PCAN_OUTPUT_BITS
        sig = np.where(small, ((snr * snr) & 0xFFFFFFFF) >> shr,
                       ((snr >> (PCAN_SNR_BITS - PCAN_OUTPUT_BITS)) - (1 << PCAN_OUTPUT_BITS)) & 0xFFFFFFFF)
    return sig


def micro_frames(frames: np.ndarray, cfg: FrontendConfig, state: MicroState | None = None) -> np.ndarray:
    """uint16 outputs ``[N, T, n_mels]`` (int64) of int16 frames ``[N, T, win]``, frame after frame.

    ``state`` (noise estimates ``[N, n_mels]``) is carried on and updated; None starts from zero.
    """
    t = micro_tables(cfg)
    frames = np.asarray(frames)
    n_clips, n_frames = frames.shape[0], frames.shape[1]
    st = state if state is not None else MicroState.zeros(n_clips, cfg.n_mels)
    out = np.empty((n_clips, n_frames, cfg.n_mels), np.int64)
    step = max(1, 4096 // max(1, n_clips))  # frames per vectorised pass: bounds scratch memory
    for start in range(0, n_frames, step):
        stop = min(start + step, n_frames)
        block = np.ascontiguousarray(frames[:, start:stop]).reshape(-1, cfg.win_length)
        x, shift = _window(block, t)
        re, im = _rfft(x, t)
        sig = _filterbank_sqrt(re, im, shift, t).reshape(n_clips, stop - start, cfg.n_mels)
        for j in range(stop - start):
            out[:, start + j] = _log_scale(_gain_stages(sig[:, j], st, t), t)
    return out


def to_pcm16(audio: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1] to the int16 the frontend takes: ``round(x * 32768)``, saturated
    (exact for ``k / 32768``, what :func:`edgekws.audio.load_audio` returns for 16-bit WAVs)."""
    return np.clip(np.round(np.asarray(audio, np.float64) * 32768.0), -32768, 32767).astype(np.int16)


def micro_features(audio: np.ndarray, cfg: FrontendConfig) -> np.ndarray:
    """The TFLM frontend's features of float audio ``[n]`` or ``[N, n]``: float32 ``[.., frames, n_mels]``.

    Each clip starts from a zero noise estimate (TFLM's ``FrontendReset``). The values are the
    frontend's uint16 outputs, exactly (same shapes and errors as ``compute_features``).
    """
    from edgekws.frontend.features import as_audio_array, frame_signal

    x = as_audio_array(audio, cfg)
    pcm = to_pcm16(x)
    frames = frame_signal(pcm[None] if pcm.ndim == 1 else pcm, cfg)
    feats = micro_frames(frames, cfg).astype(np.float32)
    return feats[0] if x.ndim == 1 else feats
