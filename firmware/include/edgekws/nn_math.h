/*
 * nn_math.h - TFLite's integer requantization arithmetic, shared by all
 * kernel backends so that every backend rounds exactly like TFLite Micro.
 *
 * The TFLite Micro build in the tflite-micro Python package uses the
 * "double rounding" variant (TFLITE_SINGLE_ROUNDING undefined): a
 * saturating rounding doubling high multiply, then a rounding (half away
 * from zero) arithmetic right shift. tests/test_nn_*.py check this against
 * the runtime.
 */
#ifndef EDGEKWS_NN_MATH_H
#define EDGEKWS_NN_MATH_H

#include <stdint.h>

/* gemmlowp SaturatingRoundingDoublingHighMul */
static inline int32_t nn_sat_round_doubling_high_mul(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    const int64_t ab = (int64_t)a * (int64_t)b;
    const int64_t nudge = ab >= 0 ? (INT64_C(1) << 30) : (INT64_C(1) - (INT64_C(1) << 30));
    return (int32_t)((ab + nudge) / (INT64_C(1) << 31)); /* C division truncates toward zero, like C++ */
}

/* gemmlowp RoundingDivideByPOT: x / 2^exponent, ties away from zero. */
static inline int32_t nn_rounding_divide_by_pot(int32_t x, int32_t exponent)
{
    const int32_t mask = (int32_t)((INT64_C(1) << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* Left shift that wraps like the two's-complement hardware instead of being UB. */
static inline int32_t nn_shl(int32_t x, int32_t s)
{
    return (int32_t)((uint32_t)x << s);
}

/* TFLite MultiplyByQuantizedMultiplier (double rounding). */
static inline int32_t nn_requantize(int32_t x, int32_t multiplier, int32_t shift)
{
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = shift > 0 ? 0 : -shift;
    return nn_rounding_divide_by_pot(nn_sat_round_doubling_high_mul(nn_shl(x, left), multiplier), right);
}

static inline int32_t nn_clamp(int32_t x, int32_t lo, int32_t hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

static inline int32_t nn_min(int32_t a, int32_t b) { return a < b ? a : b; }
static inline int32_t nn_max(int32_t a, int32_t b) { return a > b ? a : b; }

#endif /* EDGEKWS_NN_MATH_H */
