/*
 * frontend.h - device feature extraction: int16 PCM -> int8 model input.
 *
 * Portable C11, no heap, float32 (the Cortex-M7 FPU). Computes exactly the
 * FrontendConfig the model was trained with: frames of EDGEKWS_FE_WIN_LENGTH
 * samples every EDGEKWS_FE_HOP_LENGTH (no padding), periodic Hann window, real
 * FFT of EDGEKWS_FE_N_FFT points, power, sparse HTK mel filterbank,
 * 10*log10(max(mel, floor)), DCT-II (MFCC presets), then per-coefficient
 * normalisation and int8 quantization with the model's input scale and zero
 * point: q = clamp(round_half_even(((f - mean) / std) / scale) + zp).
 * The host twin edgekws.frontend.device computes the same float32 operations in
 * the same order, so host and device features are bit-identical.
 *
 * With tables for TensorFlow Lite Micro's audio frontend (EDGEKWS_FE_KIND_MICRO,
 * FrontendConfig kind "tflm-micro") a frame is that frontend's integer pipeline
 * instead (window, 16-bit fixed-point FFT, filterbank, noise reduction, PCAN,
 * log scale; fe_micro*.c), its uint16 channels are the float features, and a
 * noise estimate runs from frame to frame: fe_extract_* start each clip from
 * zero, a stream (fe_init / fe_push_hop) carries it on.
 *
 * The tables come from the model export (edgekws_frontend_tables.h/.c,
 * written by edgekws.frontend.ctables), which defines EDGEKWS_HAS_FRONTEND.
 *
 * Not reentrant: one static FFT scratch buffer (4 KB for n_fft = 1024) is
 * shared by every call. Build without -ffast-math and with floating-point
 * contraction off (the default for -std=c11 with GCC), or host/device
 * bit-exactness is lost.
 */
#ifndef EDGEKWS_FRONTEND_H
#define EDGEKWS_FRONTEND_H

#include <stdint.h>

#include "edgekws_frontend_tables.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FE_OK 0
#define FE_FRAME_READY 1 /* fe_push_hop wrote a frame */
#define FE_ERR_ARG (-1)    /* a NULL pointer */
#define FE_ERR_LENGTH (-2) /* too few samples, or out_len != frames * features */

#define FE_NUM_FEATURES EDGEKWS_FE_NUM_FEATURES
#define FE_HOP_LENGTH EDGEKWS_FE_HOP_LENGTH
#define FE_WIN_LENGTH EDGEKWS_FE_WIN_LENGTH

/* Streaming state: the last EDGEKWS_FE_SPAN samples (whole hops covering one window);
 * with the TFLM frontend also its per-channel noise estimate, carried from frame to frame. */
typedef struct {
    int16_t span[EDGEKWS_FE_SPAN];
    uint32_t hops; /* hops received, saturating at the number needed for the first frame */
#if defined(EDGEKWS_FE_KIND_MICRO) && EDGEKWS_FE_KIND_MICRO
    uint32_t noise[EDGEKWS_FE_N_MELS];
#endif
} fe_state_t;

/* Frames in a clip of n_samples: 1 + (n - win) / hop, or 0 when shorter than a window. */
uint32_t fe_num_frames(uint32_t n_samples);

/* Whole clip -> int8 features [frames][FE_NUM_FEATURES], row-major (the model input
 * [1, frames, feats, 1]). out_len must equal fe_num_frames(n_samples) * FE_NUM_FEATURES.
 * Returns FE_OK, FE_ERR_ARG or FE_ERR_LENGTH (nothing written then). */
int fe_extract_int8(const int16_t *pcm, uint32_t n_samples, int8_t *out, uint32_t out_len);

/* The same, stopping before normalisation: float features (dB log-mel or MFCC), what
 * edgekws.frontend.compute_features(pcm / 32768, cfg with exact="device") returns. */
int fe_extract_float(const int16_t *pcm, uint32_t n_samples, float *out, uint32_t out_len);

/* Streaming: reset, then push FE_HOP_LENGTH samples at a time. Returns FE_FRAME_READY and
 * writes FE_NUM_FEATURES int8 values to frame_out once a whole window has arrived (from
 * the ceil(win/hop)-th hop on, then at every hop), FE_OK while still priming, FE_ERR_ARG
 * for NULL pointers. The frames equal fe_extract_int8's on the concatenated hops. */
void fe_init(fe_state_t *s);
int fe_push_hop(fe_state_t *s, const int16_t *hop_samples, int8_t *frame_out);

/* Normalise and quantize one frame of float features (FE_NUM_FEATURES values). */
void fe_quantize(const float *features, int8_t *out);

#ifdef __cplusplus
}
#endif

#endif /* EDGEKWS_FRONTEND_H */
