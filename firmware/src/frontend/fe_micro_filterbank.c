/*
 * fe_micro_filterbank.c - the TFLM frontend's filterbank: energies, band sums, square roots.
 *
 * Each FFT bin's energy re^2 + im^2 adds weight * energy to its band and
 * (1 - weight) * energy to the next band (12-bit weights from
 * edgekws.frontend.micro), in 64-bit sums; band 0 only collects the slope
 * below the first channel and is dropped. A channel is the rounded square root
 * of its sum, shifted down by the frame's FFT input shift.
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

/* floor(sqrt(v)), plus one when the remainder exceeds the root (round to nearest),
 * except at 0xFFFF for v < 2^32 and 0xFFFFFFFF above: TFLM's Sqrt32/Sqrt64. */
static uint32_t sqrt_round(uint64_t v)
{
    uint64_t rem = v;
    uint64_t res = 0;
    uint64_t bit = (uint64_t)1 << 62;
    while (bit > rem) {
        bit >>= 2;
    }
    while (bit != 0u) {
        if (rem >= res + bit) {
            rem -= res + bit;
            res = (res >> 1) + bit;
        } else {
            res >>= 1;
        }
        bit >>= 2;
    }
    const uint64_t cap = (v >> 32) == 0u ? 0xFFFFu : 0xFFFFFFFFu;
    if (rem > res && res != cap) {
        res++;
    }
    return (uint32_t)res;
}

void fe_micro_filterbank(const fe_cpx16_t *spectrum, int shift, uint32_t *out)
{
    const int16_t *w = edgekws_fe_micro_weight;
    const int16_t *uw = edgekws_fe_micro_unweight;
    uint64_t carry = 0;
    for (uint32_t c = 0; c < EDGEKWS_FE_N_MELS + 1u; c++) {
        const fe_cpx16_t *bin = spectrum + edgekws_fe_micro_chan_start[c];
        const uint32_t width = edgekws_fe_micro_chan_width[c];
        uint64_t acc = carry;
        uint64_t next = 0;
        for (uint32_t j = 0; j < width; j++) {
            const int32_t re = bin[j].r;
            const int32_t im = bin[j].i;
            /* TFLM keeps the energy in an int32 and widens it with its sign: 2^31 reads negative */
            const int32_t e32 = (int32_t)((uint32_t)(re * re) + (uint32_t)(im * im));
            const uint64_t e = (uint64_t)(int64_t)e32;
            acc += (uint64_t)w[j] * e;
            next += (uint64_t)uw[j] * e;
        }
        w += width;
        uw += width;
        if (c > 0u) {
            out[c - 1u] = sqrt_round(acc) >> shift;
        }
        carry = next;
    }
}

#else
typedef int fe_micro_filterbank_unused_t;
#endif
