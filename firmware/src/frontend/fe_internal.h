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

/* Window win_length samples of x (int16), pack them as z[n] = x[2n] + i x[2n+1]
 * into buf (2 * FFT_LEN floats, interleaved re/im) in bit-reversed order, run the
 * complex FFT and split it into the power |X[k]|^2 of real-FFT bins k < N_USED. */
void fe_power_spectrum(const int16_t *x, float *buf, float *power);

#endif /* EDGEKWS_FE_INTERNAL_H */
