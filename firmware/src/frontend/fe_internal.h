/*
 * fe_internal.h - pieces of the device frontend shared by its source files.
 */
#ifndef EDGEKWS_FE_INTERNAL_H
#define EDGEKWS_FE_INTERNAL_H

#include <stdint.h>

#include "edgekws_frontend_tables.h"

#if EDGEKWS_FE_LAYOUT_VERSION != 1
#error "edgekws_frontend_tables.h has a table layout this frontend does not know; re-export the model"
#endif

#ifndef EDGEKWS_FE_KIND_MICRO
#define EDGEKWS_FE_KIND_MICRO 0
#endif

#if EDGEKWS_FE_KIND_MICRO
/* TensorFlow Lite Micro's audio frontend (fe_micro*.c), one job per file. */
typedef struct {
    int16_t r;
    int16_t i;
} fe_cpx16_t;

/* Highest set bit, 1-based; 0 for 0. */
static inline int fe_msb32(uint32_t x)
{
    return x == 0u ? 0 : 32 - __builtin_clz(x); /* GCC/Clang builtin: one CLZ instruction on the M7 */
}

/* fe_micro_fft.c: 16-bit fixed-point real FFT of x[N_FFT] -> out[N_FFT/2 + 1]; scratch[N_FFT/2]. */
void fe_micro_rfft(const int16_t *x, fe_cpx16_t *scratch, fe_cpx16_t *out);
/* fe_micro_filterbank.c: bin energies -> weighted band sums -> rounded sqrt >> shift, out[N_MELS]. */
void fe_micro_filterbank(const fe_cpx16_t *spectrum, int shift, uint32_t *out);
/* fe_micro_gain.c: noise reduction, then PCAN gain control, in place; updates noise[N_MELS]. */
void fe_micro_gain(uint32_t *signal, uint32_t *noise);
/* fe_micro_log.c: log scale (or the plain values), saturated to uint16, as float. */
void fe_micro_log(const uint32_t *signal, float *out);
/* fe_micro.c: one frame of win_length int16 samples -> out[N_MELS]; updates noise[N_MELS]. */
void fe_micro_frame(const int16_t *x, uint32_t *noise, float *out);
#else
/* Window win_length samples of x (int16), pack them as z[n] = x[2n] + i x[2n+1]
 * into buf (2 * FFT_LEN floats, interleaved re/im) in bit-reversed order, run the
 * complex FFT and split it into the power |X[k]|^2 of real-FFT bins k < N_USED. */
void fe_power_spectrum(const int16_t *x, float *buf, float *power);
#endif

#endif /* EDGEKWS_FE_INTERNAL_H */
