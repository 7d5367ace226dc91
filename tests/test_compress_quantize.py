"""Input quantization follows the documented formula; calibration sets are balanced and normalised."""

from __future__ import annotations

import numpy as np

import edgekws  # noqa: F401
from edgekws.compress.quantize import calibration_set, quantize_input
from edgekws.train.data import synthetic_feature_data


def test_quantize_input_formula_and_clamp() -> None:
    x = np.array([-100.0, -0.26, 0.0, 0.24, 0.26, 100.0], np.float32)
    q = quantize_input(x, 0.5, -3)
    # q = clamp(round(x / scale) + zp, -128, 127), round half to even like numpy / TFLite reference
    assert q.dtype == np.int8
    assert q.tolist() == [-128, -4, -3, -3, -2, 127]


def test_calibration_set_is_balanced_and_normalised() -> None:
    d = synthetic_feature_data(10, frames=8, feats=4)
    cal = calibration_set(d, 24, seed=1)
    assert cal.shape == (24, 8, 4, 1) and cal.dtype == np.float32
    assert abs(float(cal.mean())) < 0.5
    again = calibration_set(d, 24, seed=1)
    assert np.array_equal(cal, again)
