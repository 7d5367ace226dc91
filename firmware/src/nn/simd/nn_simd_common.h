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

/*
 * Four pixels' columns (k4 int16 each) for the 4-pixel GEMM: the pair of
 * k values (2j, 2j+1) of pixel p is word j*4 + p, so one LDRD fetches two
 * pixels' pairs. tmp (k4 int16) receives one plain column at a time.
 */
static inline void nn_cols4_put(uint32_t *cols4, const int16_t *col, int32_t p, int32_t k4)
{
    for (int32_t j = 0; j < k4 / 2; ++j) {
        cols4[4 * j + p] = nn_ld32a(col + 2 * j);
    }
}

static inline void nn_cols4_zero(uint32_t *cols4, int32_t p, int32_t k4)
{
    for (int32_t j = 0; j < k4 / 2; ++j) {
        cols4[4 * j + p] = 0;
    }
}

/*
 * 4 pixels x 2 output channels: the 8 accumulators of one register block.
 * wp: the channel pair's weights, per group of 4 k the two words
 * [c0: w0 w2 w1 w3][c1: w0 w2 w1 w3] (one LDRD); SXTB16 gives both channels'
 * (k0, k1) pairs, then SXTB16 ROR 8 the (k2, k3) pairs, each used for 4 pixels.
 * k4 >= 4.
 *
 * On the DSP target the loop is hand-scheduled: 8 accumulators, 2 weight and
 * 2 activation registers and 2 pointers take all 14 usable registers, so the
 * weight words are re-loaded for the second half instead of kept, and the
 * loop bound stays on the stack; unrolled twice: 55 instructions per 64 MACs. The C loop below
 * is the same computation, instruction for instruction, for the host build.
 */
#if NN_DSP_ACLE
__attribute__((noinline)) static void nn_mm_4x2(const int8_t *wp, const uint32_t *x, int32_t k4, int32_t acc[8])
{
    int32_t c00 = acc[0], c01 = acc[1], c02 = acc[2], c03 = acc[3];
    int32_t c10 = acc[4], c11 = acc[5], c12 = acc[6], c13 = acc[7];
    const int8_t *const wp_end = wp + 2 * k4;
    volatile const int8_t *end;
    uint32_t w0, w1, xa, xb;
    if ((k4 >> 2) & 1) {
        /* odd number of k groups: one group first, then the 2x unrolled loop */
        end = wp + 8;
        __asm__ volatile(
        "ldrd   %[w0], %[w1], [%[wp]], #8\n\t"
        "sxtb16 %[w0], %[w0]\n\t"
        "sxtb16 %[w1], %[w1]\n\t"
        "ldrd   %[xa], %[xb], [%[x], #8]\n\t"
        "smlad  %[c02], %[w0], %[xa], %[c02]\n\t"
        "smlad  %[c12], %[w1], %[xa], %[c12]\n\t"
        "smlad  %[c03], %[w0], %[xb], %[c03]\n\t"
        "smlad  %[c13], %[w1], %[xb], %[c13]\n\t"
        "ldrd   %[xa], %[xb], [%[x]], #16\n\t"
        "smlad  %[c00], %[w0], %[xa], %[c00]\n\t"
        "smlad  %[c10], %[w1], %[xa], %[c10]\n\t"
        "smlad  %[c01], %[w0], %[xb], %[c01]\n\t"
        "smlad  %[c11], %[w1], %[xb], %[c11]\n\t"
        "ldrd   %[w0], %[w1], [%[wp], #-8]\n\t"
        "sxtb16 %[w0], %[w0], ror #8\n\t"
        "sxtb16 %[w1], %[w1], ror #8\n\t"
        "ldrd   %[xa], %[xb], [%[x], #8]\n\t"
        "smlad  %[c02], %[w0], %[xa], %[c02]\n\t"
        "smlad  %[c12], %[w1], %[xa], %[c12]\n\t"
        "smlad  %[c03], %[w0], %[xb], %[c03]\n\t"
        "smlad  %[c13], %[w1], %[xb], %[c13]\n\t"
        "ldrd   %[xa], %[xb], [%[x]], #16\n\t"
        "smlad  %[c00], %[w0], %[xa], %[c00]\n\t"
        "smlad  %[c10], %[w1], %[xa], %[c10]\n\t"
        "smlad  %[c01], %[w0], %[xb], %[c01]\n\t"
        "smlad  %[c11], %[w1], %[xb], %[c11]\n\t"
        : [c00] "+r"(c00), [c01] "+r"(c01), [c02] "+r"(c02), [c03] "+r"(c03), [c10] "+r"(c10), [c11] "+r"(c11),
          [c12] "+r"(c12), [c13] "+r"(c13), [wp] "+r"(wp), [x] "+r"(x), [w0] "=&r"(w0), [w1] "=&r"(w1),
          [xa] "=&r"(xa), [xb] "=&r"(xb)
        :
        : "memory");
    }
    end = wp_end;
    if (wp == end) {
        goto done;
    }
    __asm__ volatile(
        "1:\n\t"
        "ldrd   %[w0], %[w1], [%[wp]], #8\n\t"
        "sxtb16 %[w0], %[w0]\n\t"
        "sxtb16 %[w1], %[w1]\n\t"
        "ldrd   %[xa], %[xb], [%[x], #8]\n\t"
        "smlad  %[c02], %[w0], %[xa], %[c02]\n\t"
        "smlad  %[c12], %[w1], %[xa], %[c12]\n\t"
        "smlad  %[c03], %[w0], %[xb], %[c03]\n\t"
        "smlad  %[c13], %[w1], %[xb], %[c13]\n\t"
        "ldrd   %[xa], %[xb], [%[x]], #16\n\t"
        "smlad  %[c00], %[w0], %[xa], %[c00]\n\t"
        "smlad  %[c10], %[w1], %[xa], %[c10]\n\t"
        "smlad  %[c01], %[w0], %[xb], %[c01]\n\t"
        "smlad  %[c11], %[w1], %[xb], %[c11]\n\t"
        "ldrd   %[w0], %[w1], [%[wp], #-8]\n\t"
        "sxtb16 %[w0], %[w0], ror #8\n\t"
        "sxtb16 %[w1], %[w1], ror #8\n\t"
        "ldrd   %[xa], %[xb], [%[x], #8]\n\t"
        "smlad  %[c02], %[w0], %[xa], %[c02]\n\t"
        "smlad  %[c12], %[w1], %[xa], %[c12]\n\t"
        "smlad  %[c03], %[w0], %[xb], %[c03]\n\t"
        "smlad  %[c13], %[w1], %[xb], %[c13]\n\t"
        "ldrd   %[xa], %[xb], [%[x]], #16\n\t"
        "smlad  %[c00], %[w0], %[xa], %[c00]\n\t"
        "smlad  %[c10], %[w1], %[xa], %[c10]\n\t"
        "smlad  %[c01], %[w0], %[xb], %[c01]\n\t"
        "smlad  %[c11], %[w1], %[xb], %[c11]\n\t"
        "ldrd   %[w0], %[w1], [%[wp]], #8\n\t"
        "sxtb16 %[w0], %[w0]\n\t"
        "sxtb16 %[w1], %[w1]\n\t"
        "ldrd   %[xa], %[xb], [%[x], #8]\n\t"
        "smlad  %[c02], %[w0], %[xa], %[c02]\n\t"
        "smlad  %[c12], %[w1], %[xa], %[c12]\n\t"
        "smlad  %[c03], %[w0], %[xb], %[c03]\n\t"
        "smlad  %[c13], %[w1], %[xb], %[c13]\n\t"
        "ldrd   %[xa], %[xb], [%[x]], #16\n\t"
        "smlad  %[c00], %[w0], %[xa], %[c00]\n\t"
        "smlad  %[c10], %[w1], %[xa], %[c10]\n\t"
        "smlad  %[c01], %[w0], %[xb], %[c01]\n\t"
        "smlad  %[c11], %[w1], %[xb], %[c11]\n\t"
        "ldrd   %[w0], %[w1], [%[wp], #-8]\n\t"
        "sxtb16 %[w0], %[w0], ror #8\n\t"
        "sxtb16 %[w1], %[w1], ror #8\n\t"
        "ldrd   %[xa], %[xb], [%[x], #8]\n\t"
        "smlad  %[c02], %[w0], %[xa], %[c02]\n\t"
        "smlad  %[c12], %[w1], %[xa], %[c12]\n\t"
        "smlad  %[c03], %[w0], %[xb], %[c03]\n\t"
        "smlad  %[c13], %[w1], %[xb], %[c13]\n\t"
        "ldrd   %[xa], %[xb], [%[x]], #16\n\t"
        "smlad  %[c00], %[w0], %[xa], %[c00]\n\t"
        "smlad  %[c10], %[w1], %[xa], %[c10]\n\t"
        "smlad  %[c01], %[w0], %[xb], %[c01]\n\t"
        "smlad  %[c11], %[w1], %[xb], %[c11]\n\t"
        "ldr    %[xa], %[end]\n\t"
        "cmp    %[wp], %[xa]\n\t"
        "bne    1b\n\t"
        : [c00] "+r"(c00), [c01] "+r"(c01), [c02] "+r"(c02), [c03] "+r"(c03), [c10] "+r"(c10), [c11] "+r"(c11),
          [c12] "+r"(c12), [c13] "+r"(c13), [wp] "+r"(wp), [x] "+r"(x), [w0] "=&r"(w0), [w1] "=&r"(w1),
          [xa] "=&r"(xa), [xb] "=&r"(xb)
        : [end] "m"(end)
        : "cc", "memory");
done:
    acc[0] = c00;
    acc[1] = c01;
    acc[2] = c02;
    acc[3] = c03;
    acc[4] = c10;
    acc[5] = c11;
    acc[6] = c12;
    acc[7] = c13;
}
#else
static inline void nn_mm_4x2(const int8_t *wp, const uint32_t *x, int32_t k4, int32_t acc[8])
{
    int32_t c00 = acc[0], c01 = acc[1], c02 = acc[2], c03 = acc[3];
    int32_t c10 = acc[4], c11 = acc[5], c12 = acc[6], c13 = acc[7];
    const int8_t *end = wp + 2 * k4;
    for (; wp < end; wp += 8, x += 8) {
        const uint32_t w0 = nn_ld32(wp), w1 = nn_ld32(wp + 4);
        uint32_t a0 = nn_sxtb16(w0), a1 = nn_sxtb16(w1);
        c02 = nn_smlad(a0, x[2], c02);
        c12 = nn_smlad(a1, x[2], c12);
        c03 = nn_smlad(a0, x[3], c03);
        c13 = nn_smlad(a1, x[3], c13);
        c00 = nn_smlad(a0, x[0], c00);
        c10 = nn_smlad(a1, x[0], c10);
        c01 = nn_smlad(a0, x[1], c01);
        c11 = nn_smlad(a1, x[1], c11);
        a0 = nn_sxtb16_ror8(w0);
        a1 = nn_sxtb16_ror8(w1);
        c02 = nn_smlad(a0, x[6], c02);
        c12 = nn_smlad(a1, x[6], c12);
        c03 = nn_smlad(a0, x[7], c03);
        c13 = nn_smlad(a1, x[7], c13);
        c00 = nn_smlad(a0, x[4], c00);
        c10 = nn_smlad(a1, x[4], c10);
        c01 = nn_smlad(a0, x[5], c01);
        c11 = nn_smlad(a1, x[5], c11);
    }
    acc[0] = c00;
    acc[1] = c01;
    acc[2] = c02;
    acc[3] = c03;
    acc[4] = c10;
    acc[5] = c11;
    acc[6] = c12;
    acc[7] = c13;
}
#endif

/*
 * The same 4x2 block with the channel pair's weights already sign-extended to
 * int16 (nn_expand_pairs_s16, once per call into scratch): per group of 4 k,
 * [c0 (w0,w1)][c1 (w0,w1)][c0 (w2,w3)][c1 (w2,w3)], so the loop is only LDRDs and
 * SMLADs: 22 instructions per 32 MACs plus the loop test once per 2 groups.
 */
#if NN_DSP_ACLE
__attribute__((noinline)) static void nn_mm_4x2_s16(const int16_t *wp, const uint32_t *x, int32_t k4,
                                                    int32_t acc[8])
{
    int32_t c00 = acc[0], c01 = acc[1], c02 = acc[2], c03 = acc[3];
    int32_t c10 = acc[4], c11 = acc[5], c12 = acc[6], c13 = acc[7];
    const int16_t *const wp_end = wp + 2 * k4;
    volatile const int16_t *end;
    uint32_t w0, w1, xa, xb;
    if ((k4 >> 2) & 1) {
        __asm__ volatile(
        "ldrd   %[w0], %[w1], [%[wp], #8]\n\t"
        "ldrd   %[xa], %[xb], [%[x], #24]\n\t"
        "smlad  %[c02], %[w0], %[xa], %[c02]\n\t"
        "smlad  %[c12], %[w1], %[xa], %[c12]\n\t"
        "smlad  %[c03], %[w0], %[xb], %[c03]\n\t"
        "smlad  %[c13], %[w1], %[xb], %[c13]\n\t"
        "ldrd   %[xa], %[xb], [%[x], #16]\n\t"
        "smlad  %[c00], %[w0], %[xa], %[c00]\n\t"
        "smlad  %[c10], %[w1], %[xa], %[c10]\n\t"
        "smlad  %[c01], %[w0], %[xb], %[c01]\n\t"
        "smlad  %[c11], %[w1], %[xb], %[c11]\n\t"
        "ldrd   %[w0], %[w1], [%[wp]], #16\n\t"
        "ldrd   %[xa], %[xb], [%[x], #8]\n\t"
        "smlad  %[c02], %[w0], %[xa], %[c02]\n\t"
        "smlad  %[c12], %[w1], %[xa], %[c12]\n\t"
        "smlad  %[c03], %[w0], %[xb], %[c03]\n\t"
        "smlad  %[c13], %[w1], %[xb], %[c13]\n\t"
        "ldrd   %[xa], %[xb], [%[x]], #32\n\t"
        "smlad  %[c00], %[w0], %[xa], %[c00]\n\t"
        "smlad  %[c10], %[w1], %[xa], %[c10]\n\t"
        "smlad  %[c01], %[w0], %[xb], %[c01]\n\t"
        "smlad  %[c11], %[w1], %[xb], %[c11]\n\t"
        : [c00] "+r"(c00), [c01] "+r"(c01), [c02] "+r"(c02), [c03] "+r"(c03), [c10] "+r"(c10), [c11] "+r"(c11),
          [c12] "+r"(c12), [c13] "+r"(c13), [wp] "+r"(wp), [x] "+r"(x), [w0] "=&r"(w0), [w1] "=&r"(w1),
          [xa] "=&r"(xa), [xb] "=&r"(xb)
        :
        : "memory");
    }
    end = wp_end;
    if (wp != end) {
        __asm__ volatile(
        "1:\n\t"
        "ldrd   %[w0], %[w1], [%[wp], #8]\n\t"
        "ldrd   %[xa], %[xb], [%[x], #24]\n\t"
        "smlad  %[c02], %[w0], %[xa], %[c02]\n\t"
        "smlad  %[c12], %[w1], %[xa], %[c12]\n\t"
        "smlad  %[c03], %[w0], %[xb], %[c03]\n\t"
        "smlad  %[c13], %[w1], %[xb], %[c13]\n\t"
        "ldrd   %[xa], %[xb], [%[x], #16]\n\t"
        "smlad  %[c00], %[w0], %[xa], %[c00]\n\t"
        "smlad  %[c10], %[w1], %[xa], %[c10]\n\t"
        "smlad  %[c01], %[w0], %[xb], %[c01]\n\t"
        "smlad  %[c11], %[w1], %[xb], %[c11]\n\t"
        "ldrd   %[w0], %[w1], [%[wp]], #16\n\t"
        "ldrd   %[xa], %[xb], [%[x], #8]\n\t"
        "smlad  %[c02], %[w0], %[xa], %[c02]\n\t"
        "smlad  %[c12], %[w1], %[xa], %[c12]\n\t"
        "smlad  %[c03], %[w0], %[xb], %[c03]\n\t"
        "smlad  %[c13], %[w1], %[xb], %[c13]\n\t"
        "ldrd   %[xa], %[xb], [%[x]], #32\n\t"
        "smlad  %[c00], %[w0], %[xa], %[c00]\n\t"
        "smlad  %[c10], %[w1], %[xa], %[c10]\n\t"
        "smlad  %[c01], %[w0], %[xb], %[c01]\n\t"
        "smlad  %[c11], %[w1], %[xb], %[c11]\n\t"
        "ldrd   %[w0], %[w1], [%[wp], #8]\n\t"
        "ldrd   %[xa], %[xb], [%[x], #24]\n\t"
        "smlad  %[c02], %[w0], %[xa], %[c02]\n\t"
        "smlad  %[c12], %[w1], %[xa], %[c12]\n\t"
        "smlad  %[c03], %[w0], %[xb], %[c03]\n\t"
        "smlad  %[c13], %[w1], %[xb], %[c13]\n\t"
        "ldrd   %[xa], %[xb], [%[x], #16]\n\t"
        "smlad  %[c00], %[w0], %[xa], %[c00]\n\t"
        "smlad  %[c10], %[w1], %[xa], %[c10]\n\t"
        "smlad  %[c01], %[w0], %[xb], %[c01]\n\t"
        "smlad  %[c11], %[w1], %[xb], %[c11]\n\t"
        "ldrd   %[w0], %[w1], [%[wp]], #16\n\t"
        "ldrd   %[xa], %[xb], [%[x], #8]\n\t"
        "smlad  %[c02], %[w0], %[xa], %[c02]\n\t"
        "smlad  %[c12], %[w1], %[xa], %[c12]\n\t"
        "smlad  %[c03], %[w0], %[xb], %[c03]\n\t"
        "smlad  %[c13], %[w1], %[xb], %[c13]\n\t"
        "ldrd   %[xa], %[xb], [%[x]], #32\n\t"
        "smlad  %[c00], %[w0], %[xa], %[c00]\n\t"
        "smlad  %[c10], %[w1], %[xa], %[c10]\n\t"
        "smlad  %[c01], %[w0], %[xb], %[c01]\n\t"
        "smlad  %[c11], %[w1], %[xb], %[c11]\n\t"
        "ldr    %[xa], %[end]\n\t"
        "cmp    %[wp], %[xa]\n\t"
        "bne    1b\n\t"
        : [c00] "+r"(c00), [c01] "+r"(c01), [c02] "+r"(c02), [c03] "+r"(c03), [c10] "+r"(c10), [c11] "+r"(c11),
          [c12] "+r"(c12), [c13] "+r"(c13), [wp] "+r"(wp), [x] "+r"(x), [w0] "=&r"(w0), [w1] "=&r"(w1),
          [xa] "=&r"(xa), [xb] "=&r"(xb)
        : [end] "m"(end)
        : "cc", "memory");
    }
    acc[0] = c00;
    acc[1] = c01;
    acc[2] = c02;
    acc[3] = c03;
    acc[4] = c10;
    acc[5] = c11;
    acc[6] = c12;
    acc[7] = c13;
}
#else
static inline void nn_mm_4x2_s16(const int16_t *wp, const uint32_t *x, int32_t k4, int32_t acc[8])
{
    const int16_t *end = wp + 2 * k4;
    for (; wp < end; wp += 8, x += 8) {
        const uint32_t l0 = nn_ld32a(wp), l1 = nn_ld32a(wp + 2), h0 = nn_ld32a(wp + 4), h1 = nn_ld32a(wp + 6);
        for (int32_t p = 0; p < 4; ++p) {
            acc[p] = nn_smlad(l0, x[p], acc[p]);
            acc[4 + p] = nn_smlad(l1, x[p], acc[4 + p]);
            acc[p] = nn_smlad(h0, x[4 + p], acc[p]);
            acc[4 + p] = nn_smlad(h1, x[4 + p], acc[4 + p]);
        }
    }
}
#endif

/* The channel pairs' re-laid int8 weights (pairs * 2 * k4 bytes) -> the int16 layout of nn_mm_4x2_s16. */
static inline void nn_expand_pairs_s16(int16_t *dst, const int8_t *w, int32_t pairs, int32_t k4)
{
    const int8_t *end = w + pairs * 2 * k4;
    for (; w < end; w += 8, dst += 8) {
        const uint32_t a = nn_ld32(w), b = nn_ld32(w + 4);
        nn_st32(dst, nn_sxtb16(a));
        nn_st32(dst + 2, nn_sxtb16(b));
        nn_st32(dst + 4, nn_sxtb16_ror8(a));
        nn_st32(dst + 6, nn_sxtb16_ror8(b));
    }
}

/* 4 pixels x 1 output channel (the last channel of an odd count): one weight word per group of 4 k. */
static inline void nn_mm_4x1(const int8_t *wp, const uint32_t *x, int32_t k4, int32_t acc[4])
{
    int32_t c0 = acc[0], c1 = acc[1], c2 = acc[2], c3 = acc[3];
    const int8_t *end = wp + k4;
    for (; wp < end; wp += 4, x += 8) {
        const uint32_t w = nn_ld32(wp);
        const uint32_t lo = nn_sxtb16(w), hi = nn_sxtb16_ror8(w);
        c0 = nn_smlad(lo, x[0], c0);
        c1 = nn_smlad(lo, x[1], c1);
        c2 = nn_smlad(lo, x[2], c2);
        c3 = nn_smlad(lo, x[3], c3);
        c0 = nn_smlad(hi, x[4], c0);
        c1 = nn_smlad(hi, x[5], c1);
        c2 = nn_smlad(hi, x[6], c2);
        c3 = nn_smlad(hi, x[7], c3);
    }
    acc[0] = c0;
    acc[1] = c1;
    acc[2] = c2;
    acc[3] = c3;
}

/*
 * 4-pixel columns x channel-paired weights -> n (<= 4) output pixels, all channels.
 * out: the first pixel's outputs; pixel j's at out + j * out_c.
 */
/* Per output channel, prepared once per call: accumulator start (bias) and the constants of
 * nn_requantize_r2() with the output offset folded in (rsh < 0: general path, rnd holds the shift). */
typedef struct {
    int32_t bias, mult, rnd, rsh;
} nn_chq_t;

static inline void nn_chq_prepare(nn_chq_t *t, const int32_t *bias, const nn_quant_t *q, int32_t out_c,
                                  int32_t out_offset)
{
    for (int32_t oc = 0; oc < out_c; ++oc) {
        const int32_t shift = q->shift[oc];
        t[oc].bias = bias ? bias[oc] : 0;
        t[oc].mult = q->multiplier[oc];
        if (shift <= -2 && shift >= -24) {
            t[oc].rsh = ~shift;
            t[oc].rnd = (int32_t)((UINT32_C(1) << t[oc].rsh) >> 1) + (int32_t)((uint32_t)out_offset << t[oc].rsh);
        } else {
            t[oc].rsh = -1;
            t[oc].rnd = shift;
        }
    }
}

/* Requantize, clamp and store the n (<= 4) accumulators of one channel, `stride` bytes apart. */
NN_ALWAYS_INLINE void nn_chq_store4(const nn_chq_t *c, const int32_t acc[NN_PIX4], int32_t n, int8_t *op,
                                    int32_t stride, int32_t out_offset, int32_t act_min, int32_t act_max,
                                    int32_t mode)
{
    if (c->rsh >= 0 && n == NN_PIX4) {
        const int32_t m = c->mult, rnd = c->rnd, rsh = c->rsh;
        op[0] = (int8_t)nn_act_clamp(nn_requantize_r2(acc[0], m, rnd, rsh), act_min, act_max, mode);
        op[stride] = (int8_t)nn_act_clamp(nn_requantize_r2(acc[1], m, rnd, rsh), act_min, act_max, mode);
        op[2 * stride] = (int8_t)nn_act_clamp(nn_requantize_r2(acc[2], m, rnd, rsh), act_min, act_max, mode);
        op[3 * stride] = (int8_t)nn_act_clamp(nn_requantize_r2(acc[3], m, rnd, rsh), act_min, act_max, mode);
        return;
    }
    for (int32_t j = 0; j < n; ++j) {
        op[j * stride] = c->rsh >= 0
            ? (int8_t)nn_act_clamp(nn_requantize_r2(acc[j], c->mult, c->rnd, c->rsh), act_min, act_max, mode)
            : nn_requant_out(acc[j], c->mult, c->rnd, out_offset, act_min, act_max);
    }
}

/*
 * 4-pixel columns x channel-paired weights -> n (<= 4) output pixels, all channels.
 * out: the first pixel's outputs; pixel j's at out + j * out_c. chq: nn_chq_prepare()d table.
 */
NN_ALWAYS_INLINE void nn_gemm4_mode(const int8_t *w, const int16_t *w16, const nn_chq_t *chq, int32_t out_c,
                                    int32_t k4, const uint32_t *cols4, int32_t n, int8_t *out, int32_t out_offset,
                                    int32_t act_min, int32_t act_max, int32_t mode)
{
    int32_t oc = 0;
    for (; oc + 2 <= out_c; oc += 2) {
        const int32_t b0 = chq[oc].bias, b1 = chq[oc + 1].bias;
        int32_t acc[8] = {b0, b0, b0, b0, b1, b1, b1, b1};
        if (w16) {
            nn_mm_4x2_s16(w16 + oc * k4, cols4, k4, acc);
        } else {
            nn_mm_4x2(w + oc * k4, cols4, k4, acc);
        }
        nn_chq_store4(&chq[oc], acc, n, out + oc, out_c, out_offset, act_min, act_max, mode);
        nn_chq_store4(&chq[oc + 1], acc + 4, n, out + oc + 1, out_c, out_offset, act_min, act_max, mode);
    }
    if (oc < out_c) {
        const int32_t b0 = chq[oc].bias;
        int32_t acc[4] = {b0, b0, b0, b0};
        nn_mm_4x1(w + oc * k4, cols4, k4, acc);
        nn_chq_store4(&chq[oc], acc, n, out + oc, out_c, out_offset, act_min, act_max, mode);
    }
}

static inline void nn_gemm4(const int8_t *w, const int16_t *w16, const nn_chq_t *chq, int32_t out_c, int32_t k4,
                            const uint32_t *cols4, int32_t n, int8_t *out, int32_t out_offset, int32_t act_min,
                            int32_t act_max)
{
    switch (nn_act_mode(act_min, act_max)) {
    case 0:
        nn_gemm4_mode(w, w16, chq, out_c, k4, cols4, n, out, out_offset, act_min, act_max, 0);
        break;
    case 1:
        nn_gemm4_mode(w, w16, chq, out_c, k4, cols4, n, out, out_offset, act_min, act_max, 1);
        break;
    default:
        nn_gemm4_mode(w, w16, chq, out_c, k4, cols4, n, out, out_offset, act_min, act_max, 2);
        break;
    }
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

#endif /* EDGEKWS_NN_SIMD_COMMON_H */
