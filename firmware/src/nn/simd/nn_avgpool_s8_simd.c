/*
 * nn_avgpool_s8_simd.c - int8 average pooling on the DSP extension, bit-exact with nn_avgpool_s8_ref.
 *
 * Channels % 4 == 0: each input word holds 4 channels; SXTAB16 adds bytes (0, 2) and SXTAB16 ROR 8 bytes
 * (1, 3) into two 16-bit lanes each, so one load and two instructions sum 4 channels of a pixel (16, 8 or 4
 * channels per pass). A 16-bit lane holds the sum of at most 256 int8 values (256 * -128 = -32768), so runs
 * longer than that are cut and the lanes widened to int32 in between. A window that spans whole input rows
 * is one contiguous run of pixels (the global pool: the whole plane in one run). The average is ref's (TFLite
 * Micro's): padding cells are left out of the count, rounded half away from zero, then the activation clamp.
 * Other channel counts run the ref kernel. No scratch, no aux.
 */
#include "edgekws/nn_simd.h"
#include "nn_simd_common.h"

/* Most int8 values one 16-bit lane may sum without wrapping. */
#define NN_POOL_LANE_MAX 256

/* s[0..15] += the sums of channels 0..15: four words per pixel, so the loop's pointer step, count and branch
 * are paid once per 16 channels (8 lane accumulators stay in registers). */
NN_ALWAYS_INLINE void nn_pool_run16(const int8_t *p, int32_t n, int32_t step, int32_t s[16])
{
    while (n > 0) {
        const int32_t m = n < NN_POOL_LANE_MAX ? n : NN_POOL_LANE_MAX;
        uint32_t e0 = 0, o0 = 0, e1 = 0, o1 = 0, e2 = 0, o2 = 0, e3 = 0, o3 = 0;
        for (int32_t i = m; i > 0; --i) {
            const uint32_t x0 = nn_ld32(p), x1 = nn_ld32(p + 4), x2 = nn_ld32(p + 8), x3 = nn_ld32(p + 12);
            e0 = nn_sxtab16(e0, x0);
            o0 = nn_sxtab16_ror8(o0, x0);
            e1 = nn_sxtab16(e1, x1);
            o1 = nn_sxtab16_ror8(o1, x1);
            e2 = nn_sxtab16(e2, x2);
            o2 = nn_sxtab16_ror8(o2, x2);
            e3 = nn_sxtab16(e3, x3);
            o3 = nn_sxtab16_ror8(o3, x3);
            p += step;
        }
        const uint32_t e[4] = {e0, e1, e2, e3}, o[4] = {o0, o1, o2, o3};
        for (int32_t w = 0; w < 4; ++w) {
            s[4 * w] += nn_lo16(e[w]);
            s[4 * w + 1] += nn_lo16(o[w]);
            s[4 * w + 2] += nn_hi16(e[w]);
            s[4 * w + 3] += nn_hi16(o[w]);
        }
        n -= m;
    }
}

/* s[0..7] += the sums of channels 0..7 over n pixels that are step bytes apart, starting at p. */
NN_ALWAYS_INLINE void nn_pool_run8(const int8_t *p, int32_t n, int32_t step, int32_t s[8])
{
    while (n > 0) {
        const int32_t m = n < NN_POOL_LANE_MAX ? n : NN_POOL_LANE_MAX;
        uint32_t e0 = 0, o0 = 0, e1 = 0, o1 = 0;
        for (int32_t i = m; i > 0; --i) { /* count down: SUBS + BNE closes the loop */
            const uint32_t x0 = nn_ld32(p), x1 = nn_ld32(p + 4);
            e0 = nn_sxtab16(e0, x0);     /* (c0, c2) */
            o0 = nn_sxtab16_ror8(o0, x0); /* (c1, c3) */
            e1 = nn_sxtab16(e1, x1);     /* (c4, c6) */
            o1 = nn_sxtab16_ror8(o1, x1); /* (c5, c7) */
            p += step;
        }
        s[0] += nn_lo16(e0);
        s[1] += nn_lo16(o0);
        s[2] += nn_hi16(e0);
        s[3] += nn_hi16(o0);
        s[4] += nn_lo16(e1);
        s[5] += nn_lo16(o1);
        s[6] += nn_hi16(e1);
        s[7] += nn_hi16(o1);
        n -= m;
    }
}

/* The same for 4 channels (the last group when channels % 8 == 4). */
NN_ALWAYS_INLINE void nn_pool_run4(const int8_t *p, int32_t n, int32_t step, int32_t s[4])
{
    while (n > 0) {
        const int32_t m = n < NN_POOL_LANE_MAX ? n : NN_POOL_LANE_MAX;
        uint32_t e0 = 0, o0 = 0;
        for (int32_t i = m; i > 0; --i) { /* count down: SUBS + BNE closes the loop */
            const uint32_t x0 = nn_ld32(p);
            e0 = nn_sxtab16(e0, x0);
            o0 = nn_sxtab16_ror8(o0, x0);
            p += step;
        }
        s[0] += nn_lo16(e0);
        s[1] += nn_lo16(o0);
        s[2] += nn_hi16(e0);
        s[3] += nn_hi16(o0);
        n -= m;
    }
}

int nn_avgpool_s8_simd(const nn_context_t *ctx, const nn_pool_params_t *p, const nn_dims_t *in_dims,
                       const int8_t *in, const nn_dims_t *out_dims, int8_t *out)
{
    if (!p || !in_dims || !in || !out_dims || !out || in_dims->c != out_dims->c) {
        return NN_ERR_ARG;
    }
    const int32_t in_h = in_dims->h, in_w = in_dims->w, ch = in_dims->c;
    if ((ch & 3) != 0) {
        return nn_avgpool_s8_ref(ctx, p, in_dims, in, out_dims, out);
    }
    for (int32_t b = 0; b < in_dims->n; ++b) {
        for (int32_t oy = 0; oy < out_dims->h; ++oy) {
            const int32_t iy0 = oy * p->stride.h - p->padding.h;
            const int32_t fy0 = nn_max(0, -iy0), fy1 = nn_min(p->filter.h, in_h - iy0);
            for (int32_t ox = 0; ox < out_dims->w; ++ox) {
                const int32_t ix0 = ox * p->stride.w - p->padding.w;
                const int32_t fx0 = nn_max(0, -ix0), fx1 = nn_min(p->filter.w, in_w - ix0);
                if (fy1 <= fy0 || fx1 <= fx0) {
                    return NN_ERR_ARG; /* ref: a window with no input cell */
                }
                const int32_t count = (fy1 - fy0) * (fx1 - fx0);
                const int32_t full_rows = (fx1 - fx0) == in_w; /* window rows are adjacent in memory */
                const int32_t runs = full_rows ? 1 : fy1 - fy0;
                const int32_t run_len = full_rows ? count : fx1 - fx0;
                const int8_t *first = in + ((b * in_h + iy0 + fy0) * in_w + ix0 + fx0) * ch;
                int8_t *dst = out + ((b * out_dims->h + oy) * out_dims->w + ox) * ch;
                for (int32_t c = 0; c < ch;) {
                    const int32_t nc = ch - c >= 16 ? 16 : (ch - c >= 8 ? 8 : 4);
                    int32_t s[16] = {0};
                    for (int32_t r = 0; r < runs; ++r) {
                        const int8_t *src = first + r * in_w * ch + c;
                        if (nc == 16) {
                            nn_pool_run16(src, run_len, ch, s);
                        } else if (nc == 8) {
                            nn_pool_run8(src, run_len, ch, s);
                        } else {
                            nn_pool_run4(src, run_len, ch, s);
                        }
                    }
                    for (int32_t k = 0; k < nc; ++k) {
                        const int32_t acc = s[k] > 0 ? (s[k] + count / 2) / count : (s[k] - count / 2) / count;
                        dst[c + k] = (int8_t)nn_clamp(acc, p->act_min, p->act_max);
                    }
                    c += nc;
                }
            }
        }
    }
    return NN_OK;
}
