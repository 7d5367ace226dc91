/* nn_softmax_s8.c - int8 softmax over the last axis with TFLite's fixed-point exp
 * (gemmlowp: Q5.26 input differences, Q0.31 exp, Q12.19 sum, Newton-Raphson reciprocal). */
#include "edgekws/nn.h"
#include "edgekws/nn_math.h"

#define SCALED_DIFF_INTEGER_BITS 5
#define ACCUM_INTEGER_BITS 12

static int32_t srdhm(int32_t a, int32_t b) { return nn_sat_round_doubling_high_mul(a, b); }

/* gemmlowp SaturatingRoundingMultiplyByPOT with a positive exponent (saturating left shift). */
static int32_t sat_shl(int32_t x, int32_t exponent)
{
    const int32_t threshold = (int32_t)((INT32_C(1) << (31 - exponent)) - 1);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return nn_shl(x, exponent);
}

/* exp(a) for a in [-1/4, 0), Q0.31 in and out. */
static int32_t exp_quarter(int32_t a)
{
    const int32_t constant_term = 1895147668;     /* exp(-1/8) */
    const int32_t constant_1_over_3 = 715827883;
    const int32_t x = a + (INT32_C(1) << 28);     /* a + 1/8 */
    const int32_t x2 = srdhm(x, x);
    const int32_t x3 = srdhm(x2, x);
    const int32_t x4 = srdhm(x2, x2);
    const int32_t x4_over_4 = nn_rounding_divide_by_pot(x4, 2);
    const int32_t poly = nn_rounding_divide_by_pot(srdhm(x4_over_4 + x3, constant_1_over_3) + x2, 1);
    return constant_term + srdhm(constant_term, x + poly);
}

/* exp(a) for a <= 0, a in Q5.26, result in Q0.31. */
static int32_t exp_on_negative_values(int32_t a)
{
    const int32_t frac_bits = 31 - SCALED_DIFF_INTEGER_BITS;
    const int32_t one_quarter = INT32_C(1) << (frac_bits - 2);
    const int32_t mask = one_quarter - 1;
    const int32_t a_mod_quarter_minus_one_quarter = (a & mask) - one_quarter;
    int32_t result = exp_quarter(sat_shl(a_mod_quarter_minus_one_quarter, SCALED_DIFF_INTEGER_BITS));
    const int32_t remainder = a_mod_quarter_minus_one_quarter - a;
    static const int32_t mults[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    for (int32_t e = -2; e <= 4; ++e) {
        if (SCALED_DIFF_INTEGER_BITS > e) {
            const int32_t shift = frac_bits + e;
            if (remainder & (INT32_C(1) << shift)) {
                result = srdhm(result, mults[e + 2]);
            }
        }
    }
    return a == 0 ? INT32_MAX : result;
}

/* 1 / (1 + x) for x in [0, 1), Q0.31 in and out. */
static int32_t one_over_one_plus_x(int32_t a)
{
    const int64_t sum = (int64_t)a + INT32_MAX;
    const int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    const int32_t c48_17 = 1515870810;   /* 48/17 in Q2.29 */
    const int32_t cm32_17 = -1010580540; /* -32/17 in Q2.29 */
    int32_t x = c48_17 + srdhm(half_denominator, cm32_17);
    const int32_t one_q2 = INT32_C(1) << 29;
    for (int i = 0; i < 3; ++i) {
        const int32_t hdx = srdhm(half_denominator, x);
        const int32_t one_minus = one_q2 - hdx;
        x = x + sat_shl(srdhm(x, one_minus), 2);
    }
    return sat_shl(x, 1);
}

static int32_t count_leading_zeros(uint32_t x)
{
    int32_t n = 0;
    if (x == 0) {
        return 32;
    }
    while (!(x & UINT32_C(0x80000000))) {
        x <<= 1;
        ++n;
    }
    return n;
}

int nn_softmax_s8_ref(const nn_context_t *ctx, const nn_softmax_params_t *p,
                      int32_t rows, int32_t depth, const int8_t *in, int8_t *out)
{
    (void)ctx;
    if (!p || !in || !out || rows < 0 || depth <= 0) {
        return NN_ERR_ARG;
    }
    for (int32_t r = 0; r < rows; ++r) {
        const int8_t *ip = in + r * depth;
        int8_t *op = out + r * depth;
        int32_t max_in_row = -128;
        for (int32_t c = 0; c < depth; ++c) {
            max_in_row = nn_max(max_in_row, ip[c]);
        }
        int32_t sum_of_exps = 0; /* Q12.19 */
        for (int32_t c = 0; c < depth; ++c) {
            const int32_t diff = ip[c] - max_in_row;
            if (diff >= p->diff_min) {
                const int32_t rescaled =
                    srdhm(nn_shl(diff, p->input_left_shift), p->input_multiplier);
                sum_of_exps += nn_rounding_divide_by_pot(exp_on_negative_values(rescaled), ACCUM_INTEGER_BITS);
            }
        }
        const int32_t headroom_plus_one = count_leading_zeros((uint32_t)sum_of_exps);
        const int32_t num_bits_over_unit = ACCUM_INTEGER_BITS - headroom_plus_one;
        const int32_t shifted_sum_minus_one =
            (int32_t)(((uint32_t)sum_of_exps << headroom_plus_one) - (UINT32_C(1) << 31));
        const int32_t shifted_scale = one_over_one_plus_x(shifted_sum_minus_one);
        for (int32_t c = 0; c < depth; ++c) {
            const int32_t diff = ip[c] - max_in_row;
            if (diff >= p->diff_min) {
                const int32_t rescaled =
                    srdhm(nn_shl(diff, p->input_left_shift), p->input_multiplier);
                const int32_t e = exp_on_negative_values(rescaled);
                const int32_t unsat = nn_rounding_divide_by_pot(srdhm(shifted_scale, e), num_bits_over_unit + 31 - 8);
                op[c] = (int8_t)nn_clamp(unsat - 128, -128, 127);
            } else {
                op[c] = -128;
            }
        }
    }
    return NN_OK;
}
