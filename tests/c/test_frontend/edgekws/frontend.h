/* Test stand-in for the device frontend's entry point (the real one is
 * firmware/include/edgekws/frontend.h, issue 7): same prototype. */
#ifndef EDGEKWS_TEST_FRONTEND_H
#define EDGEKWS_TEST_FRONTEND_H
#include <stdint.h>
int fe_extract_int8(const int16_t *pcm, uint32_t n_samples, int8_t *out, uint32_t out_len);
#endif
