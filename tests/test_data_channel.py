"""Speaker/channel perturbation: each function does what its name says, measured on the signal."""

from __future__ import annotations

import numpy as np
import pytest

from edgekws.data.augment import (
    ChannelConfig,
    band_limit,
    microphone,
    peaking_eq,
    pitch_shift,
    resample_by,
    reverberate,
    synthetic_rir,
    vtlp,
)
from edgekws.errors import DatasetError

SR = 16000


def spectrum(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(frequencies, power) of a signal."""
    return np.fft.rfftfreq(x.shape[0], 1.0 / SR), np.abs(np.fft.rfft(x.astype(np.float64))) ** 2


def tone(freq: float, seconds: float = 1.0) -> np.ndarray:
    return np.sin(2 * np.pi * freq * np.arange(int(seconds * SR)) / SR).astype(np.float32)


def peak_hz(x: np.ndarray) -> float:
    f, p = spectrum(x)
    return float(f[np.argmax(p)])


@pytest.mark.parametrize("cutoff", [3000.0, 5000.0])
def test_band_limit_removes_energy_above_the_cutoff(cutoff):
    x = np.random.default_rng(0).standard_normal(SR).astype(np.float32)
    f, before = spectrum(x)
    _, after = spectrum(band_limit(x, 200.0, cutoff))
    stop = f > cutoff * 1.3
    assert after[stop].sum() < 1e-3 * before[stop].sum()  # > 30 dB down in the stop band
    passband = (f > 600) & (f < cutoff * 0.7)
    assert after[passband].sum() > 0.8 * before[passband].sum()
    low = f < 60
    assert after[low].sum() < 0.05 * before[low].sum()  # the high-pass too


def test_peaking_eq_boosts_only_near_its_frequency():
    x = np.random.default_rng(1).standard_normal(SR).astype(np.float32)
    f, p0 = spectrum(x)
    _, p1 = spectrum(peaking_eq(x, 1000.0, 9.0, 2.0))
    near, far = (f > 950) & (f < 1050), (f > 4000) & (f < 6000)
    assert 10 * np.log10(p1[near].sum() / p0[near].sum()) > 7.0
    assert abs(10 * np.log10(p1[far].sum() / p0[far].sum())) < 0.5


def test_vtlp_moves_spectral_content_by_alpha():
    assert abs(peak_hz(vtlp(tone(1000.0), 1.15)) - 1150.0) < 40.0
    assert abs(peak_hz(vtlp(tone(1000.0), 0.87)) - 870.0) < 40.0
    assert vtlp(tone(1000.0), 1.1).shape == (SR,)


def test_speed_and_pitch_shift():
    y = resample_by(tone(500.0), 1.25)
    assert abs(y.shape[0] - SR / 1.25) <= 2 and abs(peak_hz(y) - 625.0) < 10.0
    # pitch up 4 semitones: a low harmonic rises by 2**(4/12); the length follows the same factor
    r = 2 ** (4 / 12)
    z = pitch_shift(tone(200.0), 4.0)
    assert abs(z.shape[0] - SR / r) <= 2 and abs(peak_hz(z) - 200.0 * r) < 35.0


def test_synthetic_rir_decays_at_its_rt60():
    rng = np.random.default_rng(3)
    rir = synthetic_rir(0.6, 0.0, rng)
    assert rir[0] >= 1.0
    tail = rir[int(0.01 * SR):].astype(np.float64) ** 2
    # energy in 50 ms windows falls ~60 dB per rt60: between 0.1 s and 0.4 s about 30 dB
    def win(t):
        k = int(t * SR)
        return tail[k : k + 800].sum()
    drop_db = 10 * np.log10(win(0.1) / win(0.4))
    assert 20.0 < drop_db < 40.0
    # the reverberant clip keeps its length and smears energy past the end of the word
    x = np.zeros(SR, np.float32)
    x[2000:4000] = tone(300.0, 0.125)
    y = reverberate(x, rir)
    assert y.shape == x.shape and np.abs(y[6000:8000]).max() > 0.01 and not x[6000:8000].any()


def test_channel_is_deterministic_and_validated():
    cfg = ChannelConfig(reverb_probability=0.5)
    x = np.random.default_rng(4).standard_normal(SR).astype(np.float32)
    a = microphone(x, cfg, np.random.default_rng(7))
    b = microphone(x, cfg, np.random.default_rng(7))
    c = microphone(x, cfg, np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert ChannelConfig.from_dict(cfg.to_dict()) == cfg
    for bad, needle in [({"speed": (1.2, 0.8)}, "range"), ({"reverb_probability": 2.0}, r"\[0, 1\]"),
                        ({"lowpass_hz": (3000.0, 9000.0)}, "band edges"), ({"nope": 1}, "unknown")]:
        with pytest.raises(DatasetError, match=needle):
            ChannelConfig.from_dict({**cfg.to_dict(), **bad})
