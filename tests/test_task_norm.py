"""edgekws.tasks.norm.Norm: per-band statistics over every axis but the bands, floored, stored and re-applied."""

from __future__ import annotations

import json

import numpy as np

from edgekws.tasks.norm import STD_FLOOR, Norm


def test_fit_over_clips_and_frames_per_band_and_round_trip() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(-40.0, 5.0, size=(6, 20, 4)).astype(np.float32)
    x[..., 3] = -80.0  # a constant band
    n = Norm.fit(x)
    assert n.mean.shape == (4,) and np.allclose(n.mean[:3], x[..., :3].mean(axis=(0, 1)))
    assert n.std[3] == np.float32(STD_FLOOR)
    assert np.array_equal(Norm.fit(x.reshape(-1, 4)).mean, Norm.fit(np.concatenate(list(x))).mean)
    z = n(x)
    assert np.allclose(z[..., :3].mean(axis=(0, 1)), 0.0, atol=1e-5) and np.allclose(z[..., :3].std(axis=(0, 1)), 1.0,
                                                                                    atol=1e-4)
    back = Norm.from_dict(json.loads(json.dumps(n.to_dict())))
    assert np.array_equal(back(x), z)
