"""TFLite quantization arithmetic: multipliers/shifts, rounding, and agreement with the C header and TFLM."""

from __future__ import annotations

import ctypes
import math

import numpy as np
import pytest

import cbuild
from edgekws.export import quant_math as qm
from edgekws.tflm import TflmModel
from test_nn_ops import INT8, INT32, TfliteBuilder


def test_quantize_multiplier_known_values():
    assert qm.quantize_multiplier(0.0) == (0, 0)
    assert qm.quantize_multiplier(0.5) == (1 << 30, 0)
    assert qm.quantize_multiplier(1.0) == (1 << 30, 1)
    assert qm.quantize_multiplier(0.75) == (3 << 29, 0)
    assert qm.quantize_multiplier(0.25) == (1 << 30, -1)
    assert qm.quantize_multiplier(3.0) == (3 << 29, 2)


def test_quantize_multiplier_rounds_up_into_next_power_of_two():
    # frexp gives q just below 1; q * 2^31 rounds to 2^31, which TFLite halves and moves into the shift
    real = 1.0 - 2.0**-40
    assert qm.quantize_multiplier(real) == (1 << 30, 1)


def test_quantize_multiplier_tiny_flushes_to_zero():
    assert qm.quantize_multiplier(2.0**-40) == (0, 0)
    assert qm.quantize_multiplier(2.0**-32)[0] == 1 << 30


def test_tflite_round_is_half_away_from_zero():
    assert [qm.tflite_round(v) for v in (0.5, 1.5, 2.5, -0.5, -2.5, 2.4999)] == [1, 2, 3, -1, -3, 2]


def test_quantize_multiplier_reconstructs_within_half_ulp():
    rng = np.random.default_rng(0)
    for real in rng.uniform(1e-6, 4.0, 2000):
        m, s = qm.quantize_multiplier(float(real))
        assert (1 << 30) <= m < (1 << 31)
        assert abs(m * 2.0 ** (s - 31) - real) <= 2.0 ** (s - 32) * 1.0000001


def test_per_channel_multipliers_shape_and_values():
    m, s = qm.per_channel_multipliers(0.05, np.array([0.01, 0.02, 0.0], np.float32), 0.1)
    assert m.dtype == np.int32 and s.dtype == np.int32 and m.shape == (3,)
    assert (m[2], s[2]) == (0, 0)
    real = float(np.float32(0.05)) * float(np.float32(0.01)) / float(np.float32(0.1))
    assert (m[0], s[0]) == qm.quantize_multiplier(real)


def test_activation_ranges():
    assert qm.activation_range("NONE", 0.1, 3) == (-128, 127)
    assert qm.activation_range("RELU", 0.1, -128) == (-128, 127)
    assert qm.activation_range("RELU", 0.1, -5) == (-5, 127)
    assert qm.activation_range("RELU6", 0.1, -128) == (-128, -68)
    assert qm.activation_range("RELU_N1_TO_1", 0.01, 0) == (-100, 100)
    with pytest.raises(ValueError):
        qm.activation_range("TANH", 0.1, 0)


def test_softmax_params_match_tflite_formula():
    p = qm.softmax_params(1.0, 0.1)
    real = float(np.float32(0.1)) * (1 << 26)
    assert (p["input_multiplier"], p["input_left_shift"]) == qm.quantize_multiplier(real)
    radius = math.floor(31 * (1 << 26) / (1 << p["input_left_shift"]))
    assert p["diff_min"] == -radius


def test_python_reference_matches_c_header(tmp_path, host_cc):
    del host_cc
    src = tmp_path / "shim.c"
    src.write_text('#include "edgekws/nn_math.h"\n'
                   "int32_t shim(int32_t x, int32_t m, int32_t s) { return nn_requantize(x, m, s); }\n")
    lib = ctypes.CDLL(str(cbuild.compile_shared([src], tmp_path / "shim.so")))
    lib.shim.restype = ctypes.c_int32
    lib.shim.argtypes = [ctypes.c_int32] * 3
    rng = np.random.default_rng(1)
    cases = [(int(x), *qm.quantize_multiplier(float(r)))
             for x, r in zip(rng.integers(-2**24, 2**24, 3000), rng.uniform(1e-5, 0.99, 3000), strict=True)]
    cases += [(-(2**31), 1 << 30, 0), (2**31 - 1, 2**31 - 1, 0), (-5, 1 << 30, -1), (5, 1 << 30, -1),
              (-(2**31), -(2**31), 0)]
    for x, m, s in cases:
        assert lib.shim(x, m, s) == qm.multiply_by_quantized_multiplier(x, m, s), (x, m, s)


def _fc_one_weight_model(a: float, b: float, c: float, acc: int) -> bytes:
    B = TfliteBuilder()
    x = B.act((1, 1), a, 0)
    w = B.const(np.array([[1]], np.int8), INT8, np.array([b], np.float32), np.array([0]))
    bias = B.const(np.array([acc], np.int32), INT32, np.array([np.float32(a) * np.float32(b)], np.float32),
                   np.array([0]))
    y = B.act((1, 1), c, 0)
    B.op("FULLY_CONNECTED", [x, w, bias], [y], "FullyConnectedOptions", fusedActivationFunction=0)
    return B.build([x], [y])


def test_per_tensor_fc_multiplier_uses_double_product_like_tflm():
    # Scales where float32(a*b) and double(a)*double(b) give multipliers one apart, and a bias that
    # lands the accumulator on a rounding boundary between them (found by search, see quant_math).
    a, b, c = np.float32(0.090761885), np.float32(0.00232214), np.float32(0.06076803)
    acc = -22633
    ours = qm.per_tensor_fc_multiplier(a, b, c)
    old = qm.quantize_multiplier(float(np.float32(a * b)) / float(c))
    assert ours != old
    got_ours = qm.multiply_by_quantized_multiplier(acc, *ours)
    got_old = qm.multiply_by_quantized_multiplier(acc, *old)
    assert got_ours != got_old
    tflm = TflmModel(_fc_one_weight_model(float(a), float(b), float(c), acc)).run(np.zeros((1, 1), np.int8))
    assert int(tflm.reshape(-1)[0]) == got_ours
