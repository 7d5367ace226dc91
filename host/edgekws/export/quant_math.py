"""TFLite's quantization arithmetic, reproduced exactly on the host.

Why: the firmware must match TFLite Micro bit for bit, and TFLM derives its
int32 requantization multipliers and shifts at model-load time from float32
scales held in the flatbuffer. We compute the same integers here (in double
precision, with the same frexp/round/clamp steps and the same order of float
and double products) and emit them as constants, so the device never needs
floating point to run a layer.

Conventions match TFLite: ``shift`` is a left shift when positive, a right
shift when negative; ``real ~= multiplier * 2**(shift - 31)``.
"""

from __future__ import annotations

import math

import numpy as np

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1


def tflite_round(x: float) -> int:
    """std::round: halves away from zero (Python's round() is banker's rounding)."""
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLite ``QuantizeMultiplier`` (double-rounding build): frexp -> Q31 significand + exponent."""
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(float(real))
    q_fixed = tflite_round(q * (1 << 31))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift = 0
        q_fixed = 0
    return int(q_fixed), int(shift)


def quantize_multiplier_smaller_than_one_exp(real: float) -> tuple[int, int]:
    """TFLite ``QuantizeMultiplierSmallerThanOneExp``: as :func:`quantize_multiplier`, requires 0 < real < 1."""
    if not 0.0 < real < 1.0:
        raise ValueError(f"multiplier {real} not in (0, 1)")
    m, s = quantize_multiplier(real)
    if s > 0:
        raise ValueError("shift must be <= 0")
    return m, s


def quantize_multiplier_greater_than_one(real: float) -> tuple[int, int]:
    """TFLite ``QuantizeMultiplierGreaterThanOne``: requires real > 1, gives a non-negative left shift."""
    if real <= 1.0:
        raise ValueError(f"multiplier {real} not > 1")
    m, s = quantize_multiplier(real)
    if s < 0:
        raise ValueError("shift must be >= 0")
    return m, s


def per_channel_multipliers(input_scale: float, filter_scales: np.ndarray,
                            output_scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Conv / depthwise / per-channel FC: TFLM ``PopulateConvolutionQuantizationParams``.

    effective = double(input_scale) * double(filter_scale[c]) / double(output_scale), all from float32.
    """
    mults, shifts = [], []
    in_s = float(np.float32(input_scale))
    out_s = float(np.float32(output_scale))
    for fs in np.asarray(filter_scales, dtype=np.float32).reshape(-1):
        m, s = quantize_multiplier(in_s * float(fs) / out_s)
        mults.append(m)
        shifts.append(s)
    return np.asarray(mults, dtype=np.int32), np.asarray(shifts, dtype=np.int32)


def per_tensor_fc_multiplier(input_scale: float, filter_scale: float, output_scale: float) -> tuple[int, int]:
    """Per-tensor FC: TFLite Micro computes double(input) * double(filter) / double(output).

    (Older TFLite code multiplied the two float32 scales in float32 first; tests/test_quant_math.py
    builds a model where the two differ and checks the runtime uses the double product.)
    """
    prod = float(np.float32(input_scale)) * float(np.float32(filter_scale))
    return quantize_multiplier(prod / float(np.float32(output_scale)))


def activation_range(activation: str, scale: float, zero_point: int) -> tuple[int, int]:
    """TFLite ``CalculateActivationRangeQuantized`` for int8 outputs."""
    qmin, qmax = -128, 127
    s = np.float32(scale)

    def q(f: float) -> int:  # TFLite divides in float32, then std::round
        return int(zero_point) + tflite_round(float(np.float32(f) / s))

    if activation == "NONE":
        return qmin, qmax
    if activation == "RELU":
        return max(qmin, q(0.0)), qmax
    if activation == "RELU6":
        return max(qmin, q(0.0)), min(qmax, q(6.0))
    if activation == "RELU_N1_TO_1":
        return max(qmin, q(-1.0)), min(qmax, q(1.0))
    raise ValueError(f"unsupported fused activation {activation}")


def add_params(s1: float, zp1: int, s2: float, zp2: int, s_out: float, zp_out: int) -> dict[str, int]:
    """Int8 ADD: TFLM ``CalculateOpDataAdd`` (left shift 20, inputs rescaled to twice the larger scale)."""
    left_shift = 20
    s1d, s2d, sod = (float(np.float32(v)) for v in (s1, s2, s_out))
    twice_max = 2.0 * max(s1d, s2d)
    m1, sh1 = quantize_multiplier_smaller_than_one_exp(s1d / twice_max)
    m2, sh2 = quantize_multiplier_smaller_than_one_exp(s2d / twice_max)
    mo, sho = quantize_multiplier_smaller_than_one_exp(twice_max / ((1 << left_shift) * sod))
    return {"left_shift": left_shift, "input1_offset": -int(zp1), "input2_offset": -int(zp2),
            "output_offset": int(zp_out), "input1_multiplier": m1, "input1_shift": sh1,
            "input2_multiplier": m2, "input2_shift": sh2, "output_multiplier": mo, "output_shift": sho}


SOFTMAX_SCALED_DIFF_INTEGER_BITS = 5


def softmax_params(beta: float, input_scale: float) -> dict[str, int]:
    """Int8 SOFTMAX: TFLite ``PreprocessSoftmaxScaling`` + ``CalculateInputRadius`` (5 integer bits)."""
    bits = SOFTMAX_SCALED_DIFF_INTEGER_BITS
    max_real = float((1 << 31) - 1)
    real = min(float(np.float32(beta)) * float(np.float32(input_scale)) * float(1 << (31 - bits)), max_real)
    if real <= 1.0:  # TFLite's QuantizeMultiplierGreaterThanOne aborts (TFLITE_CHECK) on these models
        raise ValueError(f"softmax input scale {input_scale:g} is too small for int8 softmax "
                         f"(beta * scale * 2^26 = {real:.3g} <= 1)")
    mult, left_shift = quantize_multiplier_greater_than_one(real)
    radius = math.floor(1.0 * ((1 << bits) - 1) * (1 << (31 - bits)) / (1 << left_shift))
    return {"input_multiplier": mult, "input_left_shift": left_shift, "diff_min": -int(radius)}


# ---- integer reference arithmetic (the C kernels do the same); used by tests and for LUTs ----

def saturating_rounding_doubling_high_mul(a: int, b: int) -> int:
    """gemmlowp SaturatingRoundingDoublingHighMul on int32."""
    if a == b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else (1 - (1 << 30))
    v = ab + nudge
    # C++ integer division truncates toward zero
    q = abs(v) >> 31
    return q if v >= 0 else -q


def rounding_divide_by_pot(x: int, exponent: int) -> int:
    """gemmlowp RoundingDivideByPOT (round half away from zero)."""
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def multiply_by_quantized_multiplier(x: int, multiplier: int, shift: int) -> int:
    """TFLite MultiplyByQuantizedMultiplier, double-rounding variant."""
    left = shift if shift > 0 else 0
    right = 0 if shift > 0 else -shift
    v = x * (1 << left)
    v = max(INT32_MIN, min(INT32_MAX, v)) if left else v  # C would wrap; callers keep it in range
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(v, multiplier), right)
