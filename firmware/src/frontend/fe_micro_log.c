/*
 * fe_micro_log.c - the TFLM frontend's log scale.
 *
 * value << CORRECTION_BITS (undoing the FFT size's scaling), then an integer
 * natural log: log2 as the highest bit plus a mantissa corrected through a
 * 128-segment table of log2(1 + f) - f (interpolated), times ln 2 in Q16,
 * scaled by 2^LOG_SCALE_SHIFT; values <= 1 give 0. Saturated to uint16.
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

#define SCALE_LOG2 16
#define SEGMENTS_LOG2 7
#define LN2_Q16 45426u

#if EDGEKWS_FE_MICRO_LOG_SCALE
static uint32_t log_scaled(uint32_t x)
{
    const int integer = fe_msb32(x) - 1;
    int32_t frac = (int32_t)(x - ((uint32_t)1 << integer));
    if (integer < SCALE_LOG2) {
        frac <<= SCALE_LOG2 - integer;
    } else {
        frac >>= integer - SCALE_LOG2;
    }
    const uint32_t seg = (uint32_t)frac >> (SCALE_LOG2 - SEGMENTS_LOG2);
    const int32_t c0 = edgekws_fe_micro_log_lut[seg];
    const int32_t c1 = edgekws_fe_micro_log_lut[seg + 1u];
    const int32_t rel = ((c1 - c0) * (frac - (int32_t)(seg << (SCALE_LOG2 - SEGMENTS_LOG2)))) >> SCALE_LOG2;
    const uint32_t log2 = ((uint32_t)integer << SCALE_LOG2) + (uint32_t)(frac + c0 + rel);
    const uint32_t half = 1u << (SCALE_LOG2 - 1);
    const uint32_t loge = (uint32_t)(((uint64_t)LN2_Q16 * log2 + half) >> SCALE_LOG2);
    return ((loge << EDGEKWS_FE_MICRO_LOG_SCALE_SHIFT) + half) >> SCALE_LOG2;
}
#endif

void fe_micro_log(const uint32_t *signal, float *out)
{
    for (uint32_t i = 0; i < EDGEKWS_FE_N_MELS; i++) {
        uint32_t v = signal[i];
#if EDGEKWS_FE_MICRO_LOG_SCALE
#if EDGEKWS_FE_MICRO_CORRECTION_BITS < 0
        v >>= -(EDGEKWS_FE_MICRO_CORRECTION_BITS);
#else
        v <<= EDGEKWS_FE_MICRO_CORRECTION_BITS;
#endif
        v = v > 1u ? log_scaled(v) : 0u;
#endif
        out[i] = (float)(v < 0xFFFFu ? v : 0xFFFFu);
    }
}

#else
typedef int fe_micro_log_unused_t;
#endif
