/*
 * fe_micro.c - one frame of TensorFlow Lite Micro's audio frontend.
 *
 * Window (12-bit Hann coefficients sampled at half samples), a left shift that
 * gives the frame's largest magnitude 15 bits, the fixed-point FFT, the
 * filterbank, noise reduction / PCAN and the log scale (fe_micro_*.c). The host
 * twin is edgekws.frontend.micro; both are integer code, so they agree exactly.
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

#include <string.h>

#include "fe_internal.h"

/* Scratch shared by all calls (not reentrant), like the mel frontend's. */
static int16_t g_x[EDGEKWS_FE_N_FFT];
static fe_cpx16_t g_z[EDGEKWS_FE_MICRO_NCFFT];
static fe_cpx16_t g_spec[EDGEKWS_FE_MICRO_NCFFT + 1u];
static uint32_t g_sig[EDGEKWS_FE_N_MELS];

void fe_micro_frame(const int16_t *x, uint32_t *noise, float *out)
{
    int16_t max_abs = 0;
    for (uint32_t i = 0; i < EDGEKWS_FE_WIN_LENGTH; i++) {
        const int16_t v = (int16_t)(((int32_t)x[i] * edgekws_fe_micro_window[i]) >> 12);
        g_x[i] = v;
        const int16_t a = (int16_t)(v < 0 ? -v : v); /* -32768 stays negative, as in TFLM */
        if (a > max_abs) {
            max_abs = a;
        }
    }
    const int shift = 15 - fe_msb32((uint32_t)max_abs);
    for (uint32_t i = 0; i < EDGEKWS_FE_WIN_LENGTH; i++) {
        g_x[i] = (int16_t)((uint32_t)(uint16_t)g_x[i] << shift);
    }
    memset(g_x + EDGEKWS_FE_WIN_LENGTH, 0, (EDGEKWS_FE_N_FFT - EDGEKWS_FE_WIN_LENGTH) * sizeof(int16_t));
    fe_micro_rfft(g_x, g_z, g_spec);
    fe_micro_filterbank(g_spec, shift, g_sig);
    fe_micro_gain(g_sig, noise);
    fe_micro_log(g_sig, out);
}

#else
typedef int fe_micro_frame_unused_t;
#endif
