/*
 * frontend.c - frames -> mel -> log -> DCT -> int8, whole clips and streaming.
 *
 * See edgekws/frontend.h for the contract. Each step is float32 in a fixed
 * order that the host twin (edgekws.frontend.device) repeats exactly: sparse
 * mel sums over each band's bins in order, fe_log_db() below (own log, no
 * libm, identical on every target), DCT sums over bands in order, and the
 * normalisation/quantization of the host's training pipeline.
 * With TFLM frontend tables (EDGEKWS_FE_KIND_MICRO) a frame is computed by
 * fe_micro_frame() instead (fe_micro*.c), whose noise estimate is the state a
 * clip starts from zero and a stream carries on.
 */
#if defined(__has_include)
#if __has_include("edgekws_frontend_tables.h")
#define FE_HAVE_TABLES 1
#endif
#endif

#ifdef FE_HAVE_TABLES

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#include <math.h>
#include <string.h>

#include "edgekws/frontend.h"
#include "fe_internal.h"

#define FE_SPAN_HOPS (EDGEKWS_FE_SPAN / EDGEKWS_FE_HOP_LENGTH)
#define FE_KEEP (EDGEKWS_FE_SPAN - EDGEKWS_FE_HOP_LENGTH)

#if EDGEKWS_FE_KIND_MICRO
#define FE_NOISE_LEN EDGEKWS_FE_N_MELS
static float g_feat[EDGEKWS_FE_N_MELS];

/* One frame of win_length samples -> the TFLM frontend's channels (uint16 values as float). */
static const float *frame_features(const int16_t *x, uint32_t *noise)
{
    fe_micro_frame(x, noise, g_feat);
    return g_feat;
}
#else
#define FE_NOISE_LEN 1u
/* Scratch shared by all calls (not reentrant): FFT buffer and power spectrum. */
static float g_fft[2u * EDGEKWS_FE_FFT_LEN];
static float g_power[EDGEKWS_FE_N_USED];
static float g_feat[EDGEKWS_FE_N_MELS];
#if EDGEKWS_FE_N_MFCC > 0
static float g_mfcc[EDGEKWS_FE_N_MFCC];
#endif

/* v = m * 2^e with m in [sqrt(1/2), sqrt(2)) for v > 0 finite and normal; returns ln m =
 * 2s(1 + s^2/3 + s^4/5 + s^6/7 + s^8/9), s = (m-1)/(m+1). Each log scale below finishes in its own
 * operation order, which the host twin (edgekws.frontend.device) reproduces. */
static float fe_log_mantissa(float v, int32_t *exp2)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    int32_t e = (int32_t)((bits >> 23) & 0xFFu) - 127;
    uint32_t mant = bits & 0x7FFFFFu;
    if (mant > 0x3504F3u) {
        mant |= 0x3F000000u;
        e += 1;
    } else {
        mant |= 0x3F800000u;
    }
    float m;
    memcpy(&m, &mant, sizeof m);
    const float s = (m - 1.0f) / (m + 1.0f);
    const float s2 = s * s;
    float p = 1.0f / 9.0f;
    p = p * s2 + 1.0f / 7.0f;
    p = p * s2 + 1.0f / 5.0f;
    p = p * s2 + 1.0f / 3.0f;
    p = p * s2 + 1.0f;
    *exp2 = e;
    return (s + s) * p;
}

#if !(defined(EDGEKWS_FE_LOG_LN) && EDGEKWS_FE_LOG_LN)
/* 10*log10(v) for v >= log_floor > 0 (finite, normal). */
static float fe_log_db(float v)
{
    int32_t e;
    const float ln_m = fe_log_mantissa(v, &e);
    return (float)e * 3.01029995663981195f + ln_m * 4.34294481903251828f;
}
#else
/* ln(v), v > 0 finite and normal (log="ln" configs). */
static float fe_log_ln(float v)
{
    int32_t e;
    const float ln_m = fe_log_mantissa(v, &e);
    return (float)e * 0.693147180559945309f + ln_m;
}
#endif

/* One frame of win_length samples -> g_mfcc (or the log-mel bands for log-mel configs). */
static const float *frame_features(const int16_t *x, uint32_t *noise)
{
    (void)noise; /* the mel frontend keeps no state between frames */
    fe_power_spectrum(x, g_fft, g_power);
#if defined(EDGEKWS_FE_MAGNITUDE) && EDGEKWS_FE_MAGNITUDE
    for (uint32_t k = 0; k < EDGEKWS_FE_N_USED; k++) {
        g_power[k] = sqrtf(g_power[k]); /* IEEE sqrt (VSQRT.F32): the twin's np.sqrt, bit for bit */
    }
#endif
    const float *w = edgekws_fe_mel_weight;
    const float floor_v = EDGEKWS_FE_LOG_FLOOR;
    for (uint32_t b = 0; b < EDGEKWS_FE_N_MELS; b++) {
        const float *p = g_power + edgekws_fe_mel_start[b];
        const uint32_t n = edgekws_fe_mel_count[b];
        float acc = 0.0f;
        for (uint32_t j = 0; j < n; j++) {
            acc += w[j] * p[j];
        }
        w += n;
#if defined(EDGEKWS_FE_LOG_LN) && EDGEKWS_FE_LOG_LN
        g_feat[b] = fe_log_ln(acc + floor_v);
#else
        g_feat[b] = fe_log_db(acc > floor_v ? acc : floor_v);
#endif
    }
#if EDGEKWS_FE_N_MFCC > 0
    const float *d = edgekws_fe_dct;
    for (uint32_t k = 0; k < EDGEKWS_FE_N_MFCC; k++) {
        float acc = 0.0f;
        for (uint32_t b = 0; b < EDGEKWS_FE_N_MELS; b++) {
            acc += d[b] * g_feat[b];
        }
        d += EDGEKWS_FE_N_MELS;
        g_mfcc[k] = acc;
    }
    return g_mfcc;
#else
    return g_feat;
#endif
}

#endif /* EDGEKWS_FE_KIND_MICRO */

/* Round half to even of t, t clamped to [-1024, 1024] first (also maps NaN there). */
static int32_t round_half_even(float t)
{
    if (!(t >= -1024.0f)) {
        t = -1024.0f;
    } else if (t > 1024.0f) {
        t = 1024.0f;
    }
    int32_t i = (int32_t)t; /* toward zero */
    const float frac = t - (float)i; /* exact: |t| < 2^23 */
    if (frac > 0.5f || (frac == 0.5f && (i & 1))) {
        i += 1;
    } else if (frac < -0.5f || (frac == -0.5f && (i & 1))) {
        i -= 1;
    }
    return i;
}

void fe_quantize(const float *features, int8_t *out)
{
    const float scale = EDGEKWS_FE_INPUT_SCALE;
    for (uint32_t k = 0; k < EDGEKWS_FE_NUM_FEATURES; k++) {
        float t = (features[k] - edgekws_fe_norm_mean[k]) / edgekws_fe_norm_std[k];
        t = t / scale;
        int32_t q = round_half_even(t) + (int32_t)EDGEKWS_FE_INPUT_ZERO_POINT;
        out[k] = (int8_t)(q < -128 ? -128 : (q > 127 ? 127 : q));
    }
}

uint32_t fe_num_frames(uint32_t n_samples)
{
    if (n_samples < EDGEKWS_FE_WIN_LENGTH) {
        return 0;
    }
    return 1u + (n_samples - EDGEKWS_FE_WIN_LENGTH) / EDGEKWS_FE_HOP_LENGTH;
}

static int check_clip(const void *pcm, uint32_t n_samples, const void *out, uint32_t out_len)
{
    if (pcm == NULL || out == NULL) {
        return FE_ERR_ARG;
    }
    const uint32_t frames = fe_num_frames(n_samples);
    if (frames == 0 || (uint64_t)out_len != (uint64_t)frames * EDGEKWS_FE_NUM_FEATURES) {
        return FE_ERR_LENGTH;
    }
    return FE_OK;
}

int fe_extract_int8(const int16_t *pcm, uint32_t n_samples, int8_t *out, uint32_t out_len)
{
    const int rc = check_clip(pcm, n_samples, out, out_len);
    if (rc != FE_OK) {
        return rc;
    }
    const uint32_t frames = fe_num_frames(n_samples);
    uint32_t noise[FE_NOISE_LEN] = {0}; /* a clip starts from a zero noise estimate */
    for (uint32_t t = 0; t < frames; t++) {
        fe_quantize(frame_features(pcm + (size_t)t * EDGEKWS_FE_HOP_LENGTH, noise),
                    out + (size_t)t * EDGEKWS_FE_NUM_FEATURES);
    }
    return FE_OK;
}

int fe_extract_float(const int16_t *pcm, uint32_t n_samples, float *out, uint32_t out_len)
{
    const int rc = check_clip(pcm, n_samples, out, out_len);
    if (rc != FE_OK) {
        return rc;
    }
    const uint32_t frames = fe_num_frames(n_samples);
    uint32_t noise[FE_NOISE_LEN] = {0};
    for (uint32_t t = 0; t < frames; t++) {
        memcpy(out + (size_t)t * EDGEKWS_FE_NUM_FEATURES,
               frame_features(pcm + (size_t)t * EDGEKWS_FE_HOP_LENGTH, noise),
               EDGEKWS_FE_NUM_FEATURES * sizeof(float));
    }
    return FE_OK;
}

void fe_init(fe_state_t *s)
{
    if (s != NULL) {
        memset(s, 0, sizeof *s);
    }
}

int fe_push_hop(fe_state_t *s, const int16_t *hop_samples, int8_t *frame_out)
{
    if (s == NULL || hop_samples == NULL || frame_out == NULL) {
        return FE_ERR_ARG;
    }
#if FE_KEEP > 0
    memmove(s->span, s->span + EDGEKWS_FE_HOP_LENGTH, FE_KEEP * sizeof(int16_t));
#endif
    memcpy(s->span + FE_KEEP, hop_samples, EDGEKWS_FE_HOP_LENGTH * sizeof(int16_t));
    if (s->hops < FE_SPAN_HOPS) {
        s->hops++;
        if (s->hops < FE_SPAN_HOPS) {
            return FE_OK;
        }
    }
#if EDGEKWS_FE_KIND_MICRO
    fe_quantize(frame_features(s->span, s->noise), frame_out);
#else
    fe_quantize(frame_features(s->span, NULL), frame_out);
#endif
    return FE_FRAME_READY;
}

#else
/* The model was exported without frontend tables: nothing to build. */
typedef int fe_frontend_unused_t;
#endif
