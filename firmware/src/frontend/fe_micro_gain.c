/*
 * fe_micro_gain.c - the TFLM frontend's noise reduction and PCAN gain control.
 *
 * Noise reduction: a running noise estimate per channel (smoothing
 * coefficients in 14-bit fixed point, even and odd channels apart) is
 * subtracted from the signal scaled up by SMOOTHING_BITS, keeping at least
 * MIN_SIGNAL_REMAINING of it. PCAN: a gain looked up from the noise estimate
 * in a piecewise-quadratic table (edgekws.frontend.micro), the signal times the
 * gain, then a soft shrink (square below 2 in Q12, linear above).
 */
#if defined(__has_include)
#if __has_include("edgekws_frontend_tables.h")
#include "edgekws_frontend_tables.h"
#endif
#endif

#if defined(EDGEKWS_FE_KIND_MICRO) && EDGEKWS_FE_KIND_MICRO

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#include "fe_internal.h"

#define NR_BITS 14u
#define SNR_BITS 12u
#define OUTPUT_BITS 6u

#if EDGEKWS_FE_MICRO_PCAN
static int16_t wide_dynamic(uint32_t x)
{
    const int16_t *lut = edgekws_fe_micro_pcan_lut;
    if (x <= 2u) {
        return lut[x];
    }
    const int interval = fe_msb32(x);
    lut += 4 * interval - 6;
    const uint32_t frac = (interval < 11 ? (x << (11 - interval)) : (x >> (interval - 11))) & 0x3FFu;
    /* uint32 arithmetic: TFLM's int32 expression, with its wrap made defined */
    uint32_t r = (uint32_t)(((int32_t)lut[2] * (int32_t)frac) >> 5);
    r += (uint32_t)lut[1] << 5;
    r *= frac;
    const int32_t res = ((int32_t)(r + (1u << 14)) >> 15) + lut[0];
    return (int16_t)res;
}

static uint32_t shrink(uint32_t x)
{
    if (x < (2u << SNR_BITS)) {
        return (x * x) >> (2u + 2u * SNR_BITS - OUTPUT_BITS);
    }
    return (x >> (SNR_BITS - OUTPUT_BITS)) - (1u << OUTPUT_BITS);
}
#endif

void fe_micro_gain(uint32_t *signal, uint32_t *noise)
{
#if EDGEKWS_FE_MICRO_NOISE_REDUCTION
    for (uint32_t i = 0; i < EDGEKWS_FE_N_MELS; i++) {
        const uint32_t smoothing = (i & 1u) ? EDGEKWS_FE_MICRO_ODD_SMOOTHING : EDGEKWS_FE_MICRO_EVEN_SMOOTHING;
        const uint32_t up = signal[i] << EDGEKWS_FE_MICRO_SMOOTHING_BITS;
        uint32_t est = (uint32_t)(((uint64_t)up * smoothing + (uint64_t)noise[i] * ((1u << NR_BITS) - smoothing))
                                  >> NR_BITS);
        noise[i] = est;
        if (est > up) {
            est = up;
        }
        const uint32_t floor_v = (uint32_t)(((uint64_t)signal[i] * EDGEKWS_FE_MICRO_MIN_SIGNAL_REMAINING) >> NR_BITS);
        const uint32_t sub = (up - est) >> EDGEKWS_FE_MICRO_SMOOTHING_BITS;
        signal[i] = sub > floor_v ? sub : floor_v;
    }
#endif
#if EDGEKWS_FE_MICRO_PCAN
    for (uint32_t i = 0; i < EDGEKWS_FE_N_MELS; i++) {
        const uint32_t gain = (uint32_t)wide_dynamic(noise[i]);
        signal[i] = shrink((uint32_t)(((uint64_t)signal[i] * gain) >> EDGEKWS_FE_MICRO_SNR_SHIFT));
    }
#endif
    (void)signal;
    (void)noise;
}

#else
typedef int fe_micro_gain_unused_t;
#endif
