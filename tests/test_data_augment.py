"""Augmentation: time shift, background noise, silence clips; determinism for a seed."""

from __future__ import annotations

import numpy as np
import pytest

from edgekws.data.augment import (
    AugmentConfig,
    augment_batch,
    augment_clip,
    cut_segment,
    fit_length,
    make_silence,
    mix_background,
    time_shift,
)
from edgekws.errors import DatasetError


def test_time_shift_moves_and_zero_fills():
    x = np.arange(1, 11, dtype=np.float32)
    assert time_shift(x, 3).tolist() == [0, 0, 0, 1, 2, 3, 4, 5, 6, 7]
    assert time_shift(x, -2).tolist() == [3, 4, 5, 6, 7, 8, 9, 10, 0, 0]
    assert time_shift(x, 0).tolist() == x.tolist()
    assert not time_shift(x, 10).any()


def test_fit_length_pads_and_crops():
    assert fit_length(np.ones(5), 8).tolist() == [1, 1, 1, 1, 1, 0, 0, 0]
    assert fit_length(np.arange(10), 4).tolist() == [0, 1, 2, 3]
    assert fit_length(np.ones((2, 3)), 4).shape == (2, 4)


def test_cut_segment_and_silence_come_from_the_noise():
    noise = np.linspace(-0.5, 0.5, 1000, dtype=np.float32)
    seg = cut_segment(noise, 100, np.random.default_rng(1))
    start = int(np.argmin(np.abs(noise - seg[0])))
    np.testing.assert_allclose(seg, noise[start : start + 100])
    sil = make_silence([noise], 100, np.random.default_rng(2), max_volume=0.5)
    assert sil.shape == (100,) and 0 < np.abs(sil).max() <= 0.25 + 1e-6
    assert not make_silence([], 100, np.random.default_rng(2)).any()


def test_mix_is_clipped():
    out = mix_background(np.full(4, 0.9, np.float32), np.ones(4, np.float32), 0.5)
    assert out.max() == pytest.approx(1.0)


def test_augment_clip_shift_bound_and_noise_level():
    sr = 16000
    x = np.zeros(sr, np.float32)
    x[8000] = 1.0
    cfg = AugmentConfig(time_shift_ms=100, background_frequency=0.0)
    positions = {int(np.argmax(augment_clip(x, [], cfg, np.random.default_rng(s), sr))) for s in range(200)}
    assert min(positions) >= 8000 - 1600 and max(positions) <= 8000 + 1600
    assert len(positions) > 50  # really random
    noise = [np.ones(3 * sr, np.float32)]
    cfg = AugmentConfig(time_shift_ms=0, background_frequency=1.0, background_volume=0.1)
    y = augment_clip(np.zeros(sr, np.float32), noise, cfg, np.random.default_rng(0), sr)
    assert 0 < y.max() <= 0.1 and np.allclose(y, y[0])


def test_augment_batch_is_deterministic_and_handles_silence():
    rng = np.random.default_rng(0)
    audio = (0.2 * rng.standard_normal((6, 1600))).astype(np.float32)
    noises = [(0.1 * rng.standard_normal(5000)).astype(np.float32)]
    silence = np.array([False, False, True, False, True, False])
    cfg = AugmentConfig(time_shift_ms=10)
    a = augment_batch(audio, silence, noises, cfg, seed=5)
    b = augment_batch(audio, silence, noises, cfg, seed=5)
    c = augment_batch(audio, silence, noises, cfg, seed=6)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert not np.array_equal(a[0], audio[0])
    # Example i does not depend on the examples before it.
    np.testing.assert_array_equal(augment_batch(audio[:3], silence[:3], noises, cfg, seed=5), a[:3])
    with pytest.raises(DatasetError):
        augment_batch(audio[0], silence, noises, cfg, seed=5)
    with pytest.raises(DatasetError):
        AugmentConfig(background_frequency=2.0)
