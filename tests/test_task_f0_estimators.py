"""f0 estimators on constructed salience: peak decoding to sub-bin precision, multi-F0 peaks, voice assignment,
and the combined estimator's fill / octave-correct / leave-alone rules (pYIN given as arrays, no audio)."""

from __future__ import annotations

import numpy as np
import pytest

from edgekws.tasks.f0 import estimators as est
from edgekws.tasks.f0.config import N_BINS, EstimatorConfig
from edgekws.tasks.f0.features import bin_to_hz, hz_to_bin


def _bump(centre: float, height: float = 1.0) -> np.ndarray:
    b = np.arange(N_BINS)
    return height * np.exp(-0.5 * (b - centre) ** 2)


def test_decode_mono_subbin_and_threshold() -> None:
    f = 261.63 * 2 ** (7 / 1200)  # 7 cents above a bin centre: refine must land within a few cents
    sal = np.stack([_bump(float(hz_to_bin(f))), _bump(100.0, 0.2)])
    out = est.decode_mono(sal, threshold=0.3)
    assert abs(1200 * np.log2(out[0] / f)) < 3.0
    assert out[1] == 0.0  # below threshold: unvoiced


def test_decode_multi_and_assign_voices() -> None:
    lo, hi = 50.0, 150.0
    sal = np.stack([np.maximum(_bump(lo), _bump(hi, 0.8)), _bump(hi, 0.9), np.maximum(_bump(lo, 0.9), _bump(hi))])
    cands = est.decode_multi(sal, threshold=0.3, max_voices=2, min_distance=5)
    assert [len(c) for c in cands] == [2, 1, 2]
    v = est.assign_voices(cands, 2)
    assert v[0] == pytest.approx(bin_to_hz(np.array([lo, hi])), rel=1e-3)
    assert v[1, 0] == 0.0 and v[1, 1] == pytest.approx(bin_to_hz(hi), rel=1e-3)  # the lone F0 stays the upper voice


def _case() -> tuple[np.ndarray, np.ndarray, est.Pyin]:
    """Five frames of a 220 Hz tone. Salience: a strong peak at 440 Hz (the CNN's octave error) with weaker
    support at 220 Hz in frames 0-1, nothing in frame 2, a correct peak in frame 3, a fifth (330 Hz) in 4."""
    b220, b440, b330 = (float(hz_to_bin(f)) for f in (220.0, 440.0, 330.0))
    sal = np.stack([np.maximum(_bump(b440), _bump(b220, 0.2)), np.maximum(_bump(b440), _bump(b220, 0.2)),
                    np.zeros(N_BINS), _bump(b220), _bump(b330)])
    cnn = est.decode_mono(sal, threshold=0.5)
    p = est.Pyin(f0=np.array([221.0, 221.0, 219.0, 221.0, 221.0]), voiced_prob=np.array([0.9, 0.2, 0.9, 0.9, 0.9]))
    return sal, cnn, p


def test_combined_fills_and_corrects_octaves_only_where_pyin_is_confident() -> None:
    sal, cnn, p = _case()
    assert cnn[0] == pytest.approx(440.0, rel=1e-3) and cnn[2] == 0.0
    out, counts = est.combine(sal, cnn, p, EstimatorConfig())
    assert counts == {"filled": 1, "corrected": 1}
    assert out[0] == pytest.approx(220.0, rel=2e-3)  # octave error replaced by the salience peak near pYIN's F0
    assert out[1] == pytest.approx(440.0, rel=1e-3)  # same error, but pYIN unsure (0.2 < 0.5): left alone
    assert out[2] == 219.0  # CNN unvoiced, no salience near pYIN's F0: pYIN's own value fills it
    assert out[3] == pytest.approx(cnn[3])  # agreement: CNN kept (its sub-bin estimate, not pYIN's)
    assert out[4] == pytest.approx(330.0, rel=1e-3)  # a fifth is not an octave error: left alone


def test_combine_multi_adds_missing_voice() -> None:
    sal = np.stack([_bump(float(hz_to_bin(440.0))), _bump(float(hz_to_bin(440.0)))])
    cands = est.decode_multi(sal, 0.5, 2, 5)
    p = est.Pyin(f0=np.array([220.0, 440.0]), voiced_prob=np.array([0.9, 0.9]))
    out, added = est.combine_multi(sal, cands, p, EstimatorConfig())
    assert added == 1 and len(out[0]) == 2 and out[0][0] == 220.0  # pYIN's voice added (no salience there)
    assert len(out[1]) == 1  # pYIN agrees with the existing candidate: nothing added


def test_octave_off() -> None:
    assert est.octave_off(440.0, 220.0, 100.0) and est.octave_off(110.0, 440.0, 100.0)
    assert not est.octave_off(225.0, 220.0, 100.0) and not est.octave_off(330.0, 220.0, 100.0)
