/*
 * nn_simd_common.h - pieces shared by the simd (and sparse) kernels:
 * int8 -> int16 column expansion with the input offset, and requantize-store.
 * Internal to src/nn/ (static inline), not part of the public API.
 */
#ifndef EDGEKWS_NN_SIMD_COMMON_H
#define EDGEKWS_NN_SIMD_COMMON_H

#include <stdint.h>

#include "edgekws/nn.h"
#include "edgekws/nn_dsp.h"
#include "edgekws/nn_math.h"

/* Round n up to a multiple of 4 (K of the re-laid weights and of the columns). */
static inline int32_t nn_round4(int32_t n)
{
    return (n + 3) & ~3;
}

/* dst[i] = src[i] + offset as int16, for n values (no alignment needed).
 * Four at a time: SXTAB16 adds the offset to bytes (0,2) and (1,3), PKHBT/PKHTB
 * put the lanes back in order. |src + offset| <= 255 always fits int16. */
static inline void nn_expand_s8_s16(int16_t *dst, const int8_t *src, int32_t n, int32_t offset)
{
    const uint32_t off2 = nn_pack16(offset, offset);
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const uint32_t x = nn_ld32(src + i);
        const uint32_t even = nn_sxtab16(off2, x);      /* (x0, x2) */
        const uint32_t odd = nn_sxtab16_ror8(off2, x);  /* (x1, x3) */
        nn_st32(dst + i, nn_pkhbt(even, odd, 16));      /* (x0, x1) */
        nn_st32(dst + i + 2, nn_pkhtb(odd, even, 16));  /* (x2, x3) */
    }
    for (; i < n; ++i) {
        dst[i] = (int16_t)(src[i] + offset);
    }
}

static inline void nn_zero_s16(int16_t *dst, int32_t n)
{
    for (int32_t i = 0; i < n; ++i) {
        dst[i] = 0;
    }
}

/*
 * One im2col column (length k4 = round4(f_h * f_w * f_c)) for output pixel
 * (oy, ox) of batch b: taps in filter order [fy][fx][c], input offset added,
 * taps outside the input written as 0 (which is what ref's "skip the tap"
 * contributes), tail padded with 0.
 */
static inline void nn_im2col_s16(int16_t *col, const nn_conv_params_t *p, const nn_dims_t *in_dims,
                                 const int8_t *in, int32_t f_h, int32_t f_w, int32_t b, int32_t oy, int32_t ox,
                                 int32_t k4)
{
    const int32_t in_h = in_dims->h, in_w = in_dims->w, c = in_dims->c;
    const int32_t iy0 = oy * p->stride.h - p->padding.h;
    const int32_t ix0 = ox * p->stride.w - p->padding.w;
    int16_t *dst = col;
    for (int32_t fy = 0; fy < f_h; ++fy) {
        const int32_t iy = iy0 + p->dilation.h * fy;
        if (iy < 0 || iy >= in_h) {
            nn_zero_s16(dst, f_w * c);
            dst += f_w * c;
            continue;
        }
        const int8_t *row = in + ((b * in_h + iy) * in_w) * c;
        if (p->dilation.w == 1 && ix0 >= 0 && ix0 + f_w <= in_w) {
            nn_expand_s8_s16(dst, row + ix0 * c, f_w * c, p->input_offset); /* whole row of taps is contiguous */
            dst += f_w * c;
            continue;
        }
        for (int32_t fx = 0; fx < f_w; ++fx) {
            const int32_t ix = ix0 + p->dilation.w * fx;
            if (ix < 0 || ix >= in_w) {
                nn_zero_s16(dst, c);
            } else {
                nn_expand_s8_s16(dst, row + ix * c, c, p->input_offset);
            }
            dst += c;
        }
    }
    nn_zero_s16(dst, k4 - (int32_t)(dst - col));
}

/* Requantize one accumulator (bias already in it), add the output offset, clamp. */
static inline int8_t nn_requant_out(int32_t acc, int32_t mult, int32_t shift, int32_t out_offset, int32_t act_min,
                                    int32_t act_max)
{
    const int32_t v = nn_requantize_fast(acc, mult, shift) + out_offset;
    return (int8_t)nn_clamp(v, act_min, act_max);
}

/*
 * Output stage shared by the fast kernels. Right shifts R in [2, 24] (every
 * real conv layer) take nn_requantize_r2() with the output offset folded into
 * its rounding term (+ out_offset * 2^(R-1) on the high word adds exactly
 * out_offset after the shift); the activation clamp is SSAT #8 plus at most one
 * compare per bound that is not -128 / 127 (act_mode: 0 none, 1 lower bound
 * only, 2 both). Anything else takes the general nn_requantize_fast().
 */
#define NN_PIX4 4

static inline int32_t nn_act_mode(int32_t act_min, int32_t act_max)
{
    return act_max == 127 ? (act_min == -128 ? 0 : 1) : 2;
}

NN_ALWAYS_INLINE int32_t nn_act_clamp(int32_t v, int32_t lo, int32_t hi, int32_t mode)
{
    v = nn_ssat8(v);
    if (mode >= 1) {
        v = v < lo ? lo : v;
    }
    if (mode == 2) {
        v = v > hi ? hi : v;
    }
    return v;
}

/* SMMLAR: (acc * 2^32 + a * b + 2^31) >> 32, the rounded high word of a 32x32 product plus acc. */
NN_ALWAYS_INLINE int32_t nn_smmlar(int32_t a, int32_t b, int32_t acc)
{
#if NN_DSP_ACLE
    int32_t r;
    __asm__("smmlar %[r], %[a], %[b], %[acc]" : [r] "=r"(r) : [a] "r"(a), [b] "r"(b), [acc] "r"(acc));
    return r;
#else
    return (int32_t)(((int64_t)((uint64_t)(uint32_t)acc << 32) + (int64_t)a * b + INT64_C(0x80000000)) >> 32);
#endif
}

/*
 * One row of the exporter's per-channel requantization table (ctx->aux, flash;
 * edgekws.export.kernels.simd_requant_table, which proves the arithmetic):
 * the kernels accumulate twice the true sum, starting from bias = 2 * bias;
 * rsh >= 1: the output is SMMLAR(acc, mult, rnd) >> rsh (rnd = 2^(rsh-1) +
 * output_offset * 2^rsh), then the clamp; rsh < 0: the general requantization
 * of acc / 2 with shift rnd.
 */
typedef struct {
    int32_t bias, mult, rnd, rsh;
} nn_chq_t;

/* Requantize (doubled accumulator), clamp and return one output with its channel's table row. */
NN_ALWAYS_INLINE int8_t nn_chq_out(const nn_chq_t *c, int32_t acc2, int32_t out_offset, int32_t act_min,
                                   int32_t act_max, int32_t mode)
{
    if (c->rsh >= 0) {
        return (int8_t)nn_act_clamp(nn_smmlar(acc2, c->mult, c->rnd) >> c->rsh, act_min, act_max, mode);
    }
    return nn_requant_out(acc2 >> 1, c->mult, c->rnd, out_offset, act_min, act_max);
}

/* The same when the caller knows the channel takes the fast path (rsh >= 0). */
NN_ALWAYS_INLINE int8_t nn_chq_out_fast(const nn_chq_t *c, int32_t acc2, int32_t act_min, int32_t act_max,
                                        int32_t mode)
{
    return (int8_t)nn_act_clamp(nn_smmlar(acc2, c->mult, c->rnd) >> c->rsh, act_min, act_max, mode);
}

/* Whether every one of the n channels takes the fast path (checked once per call). */
static inline int nn_chq_all_fast(const nn_chq_t *t, int32_t n)
{
    for (int32_t i = 0; i < n; ++i) {
        if (t[i].rsh < 0) {
            return 0;
        }
    }
    return 1;
}

/* The requantization table in ctx->aux: 4-byte aligned, at least round4(n) rows. */
static inline const nn_chq_t *nn_chq_table(const nn_context_t *ctx, int32_t n)
{
    if (!ctx->aux || ((uintptr_t)ctx->aux & 3u) != 0 || ctx->aux_size < (uint32_t)nn_round4(n) * sizeof(nn_chq_t)) {
        return NULL;
    }
    return (const nn_chq_t *)ctx->aux;
}

/* Dot products of 2 re-laid weight rows (w0, w1 = w0 + k4) with 2 int16 columns
 * (ca, cb): the 2x2 register block. Weight words hold [w0 w2 w1 w3], so SXTB16
 * gives (w0, w1) and SXTB16 ROR 8 gives (w2, w3), matching the column's pairs. */
static inline void nn_dot_2x2(const int8_t *w0, const int8_t *w1, const int16_t *ca, const int16_t *cb, int32_t k4,
                              int32_t *a00, int32_t *a01, int32_t *a10, int32_t *a11)
{
    int32_t s00 = *a00, s01 = *a01, s10 = *a10, s11 = *a11;
    for (int32_t k = 0; k < k4; k += 4) {
        const uint32_t x0 = nn_ld32(w0 + k), x1 = nn_ld32(w1 + k);
        const uint32_t w0l = nn_sxtb16(x0), w0h = nn_sxtb16_ror8(x0);
        const uint32_t w1l = nn_sxtb16(x1), w1h = nn_sxtb16_ror8(x1);
        const uint32_t al = nn_ld32a(ca + k), ah = nn_ld32a(ca + k + 2);
        const uint32_t bl = nn_ld32a(cb + k), bh = nn_ld32a(cb + k + 2);
        s00 = nn_smlad(w0l, al, s00);
        s00 = nn_smlad(w0h, ah, s00);
        s01 = nn_smlad(w0l, bl, s01);
        s01 = nn_smlad(w0h, bh, s01);
        s10 = nn_smlad(w1l, al, s10);
        s10 = nn_smlad(w1h, ah, s10);
        s11 = nn_smlad(w1l, bl, s11);
        s11 = nn_smlad(w1h, bh, s11);
    }
    *a00 = s00;
    *a01 = s01;
    *a10 = s10;
    *a11 = s11;
}

/* One weight row against two columns (odd channel count tail). */
static inline void nn_dot_1x2(const int8_t *w0, const int16_t *ca, const int16_t *cb, int32_t k4, int32_t *a0,
                              int32_t *a1)
{
    int32_t s0 = *a0, s1 = *a1;
    for (int32_t k = 0; k < k4; k += 4) {
        const uint32_t x0 = nn_ld32(w0 + k);
        const uint32_t wl = nn_sxtb16(x0), wh = nn_sxtb16_ror8(x0);
        s0 = nn_smlad(wl, nn_ld32a(ca + k), s0);
        s0 = nn_smlad(wh, nn_ld32a(ca + k + 2), s0);
        s1 = nn_smlad(wl, nn_ld32a(cb + k), s1);
        s1 = nn_smlad(wh, nn_ld32a(cb + k + 2), s1);
    }
    *a0 = s0;
    *a1 = s1;
}

/* Two weight rows against one column (odd pixel count tail, batch-1 FC). */
static inline void nn_dot_2x1(const int8_t *w0, const int8_t *w1, const int16_t *ca, int32_t k4, int32_t *a0,
                              int32_t *a1)
{
    int32_t s0 = *a0, s1 = *a1;
    for (int32_t k = 0; k < k4; k += 4) {
        const uint32_t x0 = nn_ld32(w0 + k), x1 = nn_ld32(w1 + k);
        const uint32_t al = nn_ld32a(ca + k), ah = nn_ld32a(ca + k + 2);
        s0 = nn_smlad(nn_sxtb16(x0), al, s0);
        s0 = nn_smlad(nn_sxtb16_ror8(x0), ah, s0);
        s1 = nn_smlad(nn_sxtb16(x1), al, s1);
        s1 = nn_smlad(nn_sxtb16_ror8(x1), ah, s1);
    }
    *a0 = s0;
    *a1 = s1;
}

static inline int32_t nn_dot_1x1(const int8_t *w0, const int16_t *ca, int32_t k4, int32_t acc)
{
    for (int32_t k = 0; k < k4; k += 4) {
        const uint32_t x0 = nn_ld32(w0 + k);
        acc = nn_smlad(nn_sxtb16(x0), nn_ld32a(ca + k), acc);
        acc = nn_smlad(nn_sxtb16_ror8(x0), nn_ld32a(ca + k + 2), acc);
    }
    return acc;
}

/*
 * Columns x re-laid weights -> outputs, for n_cols columns stored k4 apart in
 * cols, whose outputs go to out + j * out_stride. Weights: out_c rows of k4.
 */
static inline void nn_gemm_cols(const int8_t *w, const int32_t *bias, const nn_quant_t *q, int32_t out_c, int32_t k4,
                                const int16_t *cols, int32_t n_cols, int8_t *out, int32_t out_stride,
                                int32_t out_offset, int32_t act_min, int32_t act_max)
{
    const int16_t *ca = cols;
    const int16_t *cb = cols + k4;
    int8_t *oa = out;
    int8_t *ob = out + out_stride;
    int32_t oc = 0;
    if (n_cols == 2) {
        for (; oc + 2 <= out_c; oc += 2) {
            const int8_t *w0 = w + oc * k4;
            int32_t a00 = bias ? bias[oc] : 0, a10 = bias ? bias[oc + 1] : 0;
            int32_t a01 = a00, a11 = a10;
            nn_dot_2x2(w0, w0 + k4, ca, cb, k4, &a00, &a01, &a10, &a11);
            const int32_t m0 = q->multiplier[oc], s0 = q->shift[oc];
            const int32_t m1 = q->multiplier[oc + 1], s1 = q->shift[oc + 1];
            oa[oc] = nn_requant_out(a00, m0, s0, out_offset, act_min, act_max);
            ob[oc] = nn_requant_out(a01, m0, s0, out_offset, act_min, act_max);
            oa[oc + 1] = nn_requant_out(a10, m1, s1, out_offset, act_min, act_max);
            ob[oc + 1] = nn_requant_out(a11, m1, s1, out_offset, act_min, act_max);
        }
        if (oc < out_c) {
            int32_t a0 = bias ? bias[oc] : 0;
            int32_t a1 = a0;
            nn_dot_1x2(w + oc * k4, ca, cb, k4, &a0, &a1);
            oa[oc] = nn_requant_out(a0, q->multiplier[oc], q->shift[oc], out_offset, act_min, act_max);
            ob[oc] = nn_requant_out(a1, q->multiplier[oc], q->shift[oc], out_offset, act_min, act_max);
        }
        return;
    }
    for (; oc + 2 <= out_c; oc += 2) {
        const int8_t *w0 = w + oc * k4;
        int32_t a0 = bias ? bias[oc] : 0, a1 = bias ? bias[oc + 1] : 0;
        nn_dot_2x1(w0, w0 + k4, ca, k4, &a0, &a1);
        oa[oc] = nn_requant_out(a0, q->multiplier[oc], q->shift[oc], out_offset, act_min, act_max);
        oa[oc + 1] = nn_requant_out(a1, q->multiplier[oc + 1], q->shift[oc + 1], out_offset, act_min, act_max);
    }
    if (oc < out_c) {
        const int32_t a0 = nn_dot_1x1(w + oc * k4, ca, k4, bias ? bias[oc] : 0);
        oa[oc] = nn_requant_out(a0, q->multiplier[oc], q->shift[oc], out_offset, act_min, act_max);
    }
}

/*
 * The 3-pixel x 2-channel block of the simd convs whose K4 <= NN_CONV2D_1X1_S8_SIMD_MAX_K4 (nn_conv2d_1x1_s8_simd.c;
 * weights: the exporter's channel-pair records, _relayout_simd_conv_3x2): all output channels of n (1..3) pixels
 * from their columns (per 4 k the words [p0 (k0,k2)][p1][p2][p0 (k1,k3)][p1][p2]; a missing pixel repeats the
 * last one), pixel j's outputs at o + dj. fast (nn_simd_block3x2_fast): the assembly; otherwise the C block.
 */
int nn_simd_block3x2_fast(const nn_chq_t *chq, int32_t out_c, const nn_conv_params_t *p);
void nn_simd_block3x2(const int8_t *w, const uint32_t *cols, int32_t k4, int32_t out_c, int8_t *o, int32_t d1,
                      int32_t d2, int32_t n, const nn_conv_params_t *p, int fast);

/* A filter row of one word read from inside its input row: for a pixel whose window starts d bytes before
 * (d < 0) or after (d > 0) the loaded word, the shifts that move the inside taps into place and the mask of
 * the bytes they keep (the others take the zero point). |d| >= 4: the whole window is padding. Shared by
 * the one-word-row convolutions (nn_conv2d_s8_simd.c, nn_conv2d_rows4_s8_simd.c). */
static inline uint32_t nn_edge_word_keep(int32_t d, uint32_t *shl, uint32_t *shr)
{
    uint32_t keep = 0xffffffffu;
    *shl = *shr = 0;
    if (d <= -4 || d >= 4) {
        keep = 0;
    } else if (d < 0) {
        *shl = (uint32_t)(-8 * d);
        keep <<= *shl;
    } else {
        *shr = (uint32_t)(8 * d);
        keep >>= *shr;
    }
    return keep;
}

#endif /* EDGEKWS_NN_SIMD_COMMON_H */
