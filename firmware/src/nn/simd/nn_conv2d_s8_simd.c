/*
 * nn_conv2d_s8_simd.c - int8 2-D convolution on the Cortex-M DSP extension.
 *
 * Two output pixels at a time: their columns are widened once to int16 with
 * the input offset added and interleaved so that one LDRD fetches both pixels'
 * k pair; then every group of 4 output channels runs a 2-pixel x 4-channel
 * register block of SMLADs (nn_mm_2x4_s16: 3 loads + 8 SMLADs per k pair) and
 * the requantization (one SMMLAR and one ASR per output, see nn_chq_t).
 *
 * Nothing that depends only on the model is computed or kept in RAM: the
 * exporter (edgekws.export.kernels.relayout_simd_conv) pre-widens the weights
 * to int16 in flash (doubled, so the accumulators are twice the sums, which
 * the requantization wants), in the block's read order (output channels padded to a
 * multiple of 4 with zero rows that are computed but never stored), and builds
 * the per-channel requantization table (ctx->aux, nn_chq_t: bias, multiplier
 * and the rounding constants with the output offset folded in). The k pairs of
 * each group of 4 k are (k0, k2), (k1, k3): the order SXTAB16 / SXTAB16 ROR 8
 * widen 4 input bytes in, so a 1x1 convolution (stride 1, no padding, input
 * channels a multiple of 4) widens its columns straight from the input pixels
 * (2 SXTAB16 per 4 bytes, no re-packing); so does every filter row that is
 * whole groups of 4 k (nn_cols2_rows). Any other shape builds a plain
 * im2col column (padding taps 0, which is what ref's "skip the tap"
 * contributes) and re-packs its pairs with PKHBT/PKHTB. Groups (f_c != in_c)
 * are not supported here.
 *
 * Scratch (4-byte aligned): the 2 interleaved columns, 4*K4 bytes
 * (NN_CONV2D_S8_SIMD_SCRATCH_1X1), plus one plain column for the im2col path,
 * 6*K4 in all (NN_CONV2D_S8_SIMD_SCRATCH); K4 = round4(f_h * f_w * f_c). For
 * DS-CNN-S's pointwise layers that is 256 bytes, what CMSIS-NN's 1x1 kernel asks.
 */
#include "edgekws/nn_simd.h"
#include "nn_simd_common.h"

/*
 * 2 pixels x 4 output channels: the 8 accumulators of the conv's register block,
 * acc[2 * ch + p]. x: the block's interleaved int16 columns, per k pair j the
 * words [p0 pair j][p1 pair j] (one LDRD); wp: the group of 4 channels' int16
 * weights from flash (pre-widened by the exporter), per k pair j the words
 * [c0][c1][c2][c3] (two LDRDs). Per k pair: 3 loads and 8 SMLADs (16 MACs), no
 * unpacking; the weights never pass through RAM. k4 is a multiple of 4 (an even
 * number of k pairs).
 *
 * On the DSP target the loop is hand-scheduled: 8 accumulators, 2 weight and 2
 * activation registers and 2 pointers take all 14 usable registers, so the loop
 * bound stays on the stack; unrolled to 4 k pairs (47 instructions per 64 MACs).
 * The C loop below is the same computation for the host build.
 */
#define NN_MM_2X4_PAIR(W_OFF, W_INC)                              \
    "ldrd   %[xa], %[xb], [%[x]], #8\n\t"                         \
    "ldrd   %[w0], %[w1], [%[wp]" W_OFF "]" W_INC "\n\t"          \
    "smlad  %[c00], %[w0], %[xa], %[c00]\n\t"                     \
    "smlad  %[c01], %[w0], %[xb], %[c01]\n\t"                     \
    "smlad  %[c10], %[w1], %[xa], %[c10]\n\t"                     \
    "smlad  %[c11], %[w1], %[xb], %[c11]\n\t"                     \
    "ldrd   %[w0], %[w1], [%[wp], #-8]\n\t"                       \
    "smlad  %[c20], %[w0], %[xa], %[c20]\n\t"                     \
    "smlad  %[c21], %[w0], %[xb], %[c21]\n\t"                     \
    "smlad  %[c30], %[w1], %[xa], %[c30]\n\t"                     \
    "smlad  %[c31], %[w1], %[xb], %[c31]\n\t"

#if NN_DSP_ACLE
__attribute__((noinline)) static void nn_mm_2x4_s16(const int16_t *wp, const uint32_t *x, int32_t k4, int32_t acc[8])
{
    int32_t c00 = acc[0], c01 = acc[1], c10 = acc[2], c11 = acc[3];
    int32_t c20 = acc[4], c21 = acc[5], c30 = acc[6], c31 = acc[7];
    const int16_t *const wp_end = wp + 4 * k4;
    volatile const int16_t *end;
    uint32_t w0, w1, xa, xb;
    if ((k4 >> 2) & 1) {
        /* odd number of groups of 4 k: 2 k pairs first, then the loop of 4 */
        __asm__ volatile(NN_MM_2X4_PAIR("", ", #16") NN_MM_2X4_PAIR("", ", #16")
                         : [c00] "+r"(c00), [c01] "+r"(c01), [c10] "+r"(c10), [c11] "+r"(c11), [c20] "+r"(c20),
                           [c21] "+r"(c21), [c30] "+r"(c30), [c31] "+r"(c31), [wp] "+r"(wp), [x] "+r"(x),
                           [w0] "=&r"(w0), [w1] "=&r"(w1), [xa] "=&r"(xa), [xb] "=&r"(xb)
                         :
                         : "memory");
    }
    end = wp_end;
    if (wp != end) {
        __asm__ volatile("1:\n\t" NN_MM_2X4_PAIR("", ", #16") NN_MM_2X4_PAIR("", ", #16")
                         NN_MM_2X4_PAIR("", ", #16") NN_MM_2X4_PAIR("", ", #16")
                         "ldr    %[xa], %[end]\n\t"
                         "cmp    %[wp], %[xa]\n\t"
                         "bne    1b\n\t"
                         : [c00] "+r"(c00), [c01] "+r"(c01), [c10] "+r"(c10), [c11] "+r"(c11), [c20] "+r"(c20),
                           [c21] "+r"(c21), [c30] "+r"(c30), [c31] "+r"(c31), [wp] "+r"(wp), [x] "+r"(x),
                           [w0] "=&r"(w0), [w1] "=&r"(w1), [xa] "=&r"(xa), [xb] "=&r"(xb)
                         : [end] "m"(end)
                         : "cc", "memory");
    }
    acc[0] = c00;
    acc[1] = c01;
    acc[2] = c10;
    acc[3] = c11;
    acc[4] = c20;
    acc[5] = c21;
    acc[6] = c30;
    acc[7] = c31;
}
#else
static inline void nn_mm_2x4_s16(const int16_t *wp, const uint32_t *x, int32_t k4, int32_t acc[8])
{
    const int16_t *end = wp + 4 * k4;
    for (; wp < end; wp += 8, x += 2) {
        const uint32_t xa = x[0], xb = x[1];
        for (int32_t ch = 0; ch < 4; ++ch) {
            const uint32_t w = nn_ld32a(wp + 2 * ch);
            acc[2 * ch] = nn_smlad(w, xa, acc[2 * ch]);
            acc[2 * ch + 1] = nn_smlad(w, xb, acc[2 * ch + 1]);
        }
    }
}
#endif

/*
 * The whole 2-pixel x 4-channel group in one piece for the common case (both
 * pixels, 4 real channels, every channel on the fast requantization, no clamp
 * beyond SSAT #8), looping over `groups` groups of 4 channels itself (the
 * weights of one group follow the previous one's). o: pixel 0's output for
 * the first group's first channel; pixel 1's is out_c bytes further.
 */
#if NN_DSP_ACLE
#define NN_ARG __attribute__((unused)) /* a naked function's arguments are read by its asm, in r0..r3 and the stack */
/* One k pair of the block loop: x (r9) and wp (r8) advance, acc r0..r7 as acc[2 * ch + p], 44 bytes of code. */
#define NN_G_PAIR                                                   \
    "ldrd   r12, lr, [r9], #8\n\t"                                  \
    "ldrd   r10, r11, [r8], #16\n\t"                                \
    "smlad  r0, r10, r12, r0\n\t"                                   \
    "smlad  r1, r10, lr, r1\n\t"                                    \
    "smlad  r2, r11, r12, r2\n\t"                                   \
    "smlad  r3, r11, lr, r3\n\t"                                    \
    "ldrd   r10, r11, [r8, #-8]\n\t"                                \
    "smlad  r4, r10, r12, r4\n\t"                                   \
    "smlad  r5, r10, lr, r5\n\t"                                    \
    "smlad  r6, r11, r12, r6\n\t"                                   \
    "smlad  r7, r11, lr, r7\n\t"
#define NN_G_PAIR4 NN_G_PAIR NN_G_PAIR NN_G_PAIR NN_G_PAIR
#define NN_G_PAIR32 NN_G_PAIR4 NN_G_PAIR4 NN_G_PAIR4 NN_G_PAIR4 NN_G_PAIR4 NN_G_PAIR4 NN_G_PAIR4 NN_G_PAIR4
/* Requantize and store channel CH's two outputs (accumulators A0 = pixel 0, A1 = pixel 1) with the
 * table row that LDM just put in r10 (multiplier), r11 (rounding) and r12 (shift); r9: pixel 0's
 * output, lr: out_c. */
#define NN_G_RQ(A0, A1)                                             \
    "smmlar " A0 ", " A0 ", r10, r11\n\t"                           \
    "smmlar " A1 ", " A1 ", r10, r11\n\t"                           \
    "asr    " A0 ", " A0 ", r12\n\t"                                \
    "asr    " A1 ", " A1 ", r12\n\t"                                \
    "ssat   " A0 ", #8, " A0 "\n\t"                                 \
    "ssat   " A1 ", #8, " A1 "\n\t"                                 \
    "strb   " A1 ", [r9, lr]\n\t"                                   \
    "strb   " A0 ", [r9], #1\n\t"

/*
 * The 2-pixel x 4-channel groups for the common case (both pixels, every channel of the call on the fast
 * requantization, no clamp beyond SSAT #8), all in registers: r0..r7 the 8 accumulators, r8 the weights,
 * r9 the columns, r10..r12 and lr the operands. Per group: the accumulators start as the table's biases
 * in the first k pair's SMLADs (no moves); the other k pairs run straight-line in a block of 32 unrolled
 * pairs entered part-way so that it ends exactly at the last one (a computed jump instead of a loop
 * counter per few pairs; a second copy of the block, without the loop test, serves K4 <= 66); then per
 * channel one LDM fetches the table row (its bias word lands in an accumulator already stored) and
 * SMMLAR, ASR, SSAT and STRB make its 2 outputs. Arguments as nn_group_2x4_fast0 below (r0..r3, then o,
 * out_c, groups on the stack).
 */
__attribute__((naked, noinline)) static void nn_group_2x4_fast0(NN_ARG const int16_t *wp, NN_ARG const uint32_t *x,
                                                                 NN_ARG int32_t k4, NN_ARG const nn_chq_t *chq,
                                                                 NN_ARG int8_t *o, NN_ARG int32_t out_c,
                                                                 NN_ARG int32_t groups)
{
    __asm__ volatile(
        "push   {r4-r11, lr}\n\t"
        "sub    sp, sp, #32\n\t" /* [sp]: cols, tbl, o, out_c, groups left, entry, cols end, weights */
        "str    r1, [sp, #0]\n\t"
        "str    r3, [sp, #4]\n\t"
        "ldr    r4, [sp, #68]\n\t"
        "str    r4, [sp, #8]\n\t"
        "ldr    r4, [sp, #72]\n\t"
        "str    r4, [sp, #12]\n\t"
        "ldr    r4, [sp, #76]\n\t"
        "str    r4, [sp, #16]\n\t"
        "add    r4, r1, r2, lsl #2\n\t" /* the columns end: 4 * k4 bytes */
        "str    r4, [sp, #24]\n\t"
        "lsr    r4, r2, #1\n\t"         /* k pairs after the first: k4 / 2 - 1 */
        "sub    r4, r4, #1\n\t"
        "rsb    r6, r4, #0\n\t"
        "and    r6, r6, #31\n\t"        /* pairs of the block to skip on entry */
        "mov    r5, #44\n\t"
        "mul    r6, r6, r5\n\t"
        "cmp    r4, #32\n\t"            /* at most one block (k4 <= 66): the copy without the loop test */
        "bgt    7f\n\t"
        "adr    r5, 6f\n\t"
        "b      8f\n\t"
        "7:\n\t"
        "adr    r5, 5f\n\t"
        "8:\n\t"
        "add    r4, r6, r5\n\t"
        "orr    r4, r4, #1\n\t"
        "str    r4, [sp, #20]\n\t"
        "mov    r8, r0\n\t"
        "0:\n\t"
        "ldr    r9, [sp, #0]\n\t"
        "ldr    r12, [sp, #4]\n\t"
        "ldr    r0, [r12]\n\t"
        "ldr    r2, [r12, #16]\n\t"
        "ldr    r4, [r12, #32]\n\t"
        "ldr    r6, [r12, #48]\n\t"
        "ldrd   r12, lr, [r9], #8\n\t"
        "ldrd   r10, r11, [r8], #16\n\t"
        "smlad  r1, r10, lr, r0\n\t"
        "smlad  r0, r10, r12, r0\n\t"
        "smlad  r3, r11, lr, r2\n\t"
        "smlad  r2, r11, r12, r2\n\t"
        "ldrd   r10, r11, [r8, #-8]\n\t"
        "smlad  r5, r10, lr, r4\n\t"
        "smlad  r4, r10, r12, r4\n\t"
        "smlad  r7, r11, lr, r6\n\t"
        "smlad  r6, r11, r12, r6\n\t"
        "ldr    r12, [sp, #20]\n\t"
        "bx     r12\n\t"
        ".p2align 2\n\t"
        "5:\n\t" NN_G_PAIR32
        "ldr    r12, [sp, #24]\n\t"
        "cmp    r9, r12\n\t"
        "bne    5b\n\t"
        "b      9f\n\t"
        ".p2align 2\n\t"
        "6:\n\t" NN_G_PAIR32
        "9:\n\t"
        "str    r8, [sp, #28]\n\t"
        "ldr    r8, [sp, #4]\n\t"
        "ldr    r9, [sp, #8]\n\t"
        "ldr    lr, [sp, #12]\n\t"
        "add    r8, r8, #4\n\t"
        "ldm    r8!, {r10, r11, r12}\n\t" NN_G_RQ("r0", "r1")
        "ldm    r8!, {r0, r10, r11, r12}\n\t" NN_G_RQ("r2", "r3")
        "ldm    r8!, {r0, r10, r11, r12}\n\t" NN_G_RQ("r4", "r5")
        "ldm    r8!, {r0, r10, r11, r12}\n\t" NN_G_RQ("r6", "r7")
        "str    r8, [sp, #4]\n\t"
        "str    r9, [sp, #8]\n\t"
        "ldr    r8, [sp, #28]\n\t"
        "ldr    r12, [sp, #16]\n\t"
        "subs   r12, r12, #1\n\t"
        "str    r12, [sp, #16]\n\t"
        "bne    0b\n\t"
        "add    sp, sp, #32\n\t"
        "pop    {r4-r11, pc}\n\t");
}
#else
static inline void nn_group_2x4_fast0(const int16_t *wp, const uint32_t *x, int32_t k4, const nn_chq_t *chq,
                                      int8_t *o, int32_t out_c, int32_t groups)
{
    for (int32_t g = 0; g < groups; ++g, wp += 4 * k4, chq += 4, o += 4) {
        int32_t acc[8];
        for (int32_t ch = 0; ch < 4; ++ch) {
            acc[2 * ch] = acc[2 * ch + 1] = chq[ch].bias;
        }
        nn_mm_2x4_s16(wp, x, k4, acc);
        for (int32_t ch = 0; ch < 4; ++ch) {
            o[ch] = nn_chq_out_fast(&chq[ch], acc[2 * ch], -128, 127, 0);
            o[out_c + ch] = nn_chq_out_fast(&chq[ch], acc[2 * ch + 1], -128, 127, 0);
        }
    }
}
#endif

/* The block's columns straight from two input pixels (x1 NULL: the second pixel is padding, zeros). */
static inline void nn_cols2_direct(uint32_t *cols, const int8_t *x0, const int8_t *x1, int32_t k4, uint32_t off2)
{
#if NN_DSP_ACLE
    if (x1) { /* both pixels: 2 loads, 4 SXTAB16 and 2 STRD per 4 k */
        const int8_t *const end = x0 + k4;
        const int32_t d = (int32_t)(x1 - x0);
        uint32_t a, b, e0, e1, o0, o1;
        __asm__ volatile("1:\n\t"
                         "ldr     %[b], [%[x], %[d]]\n\t"
                         "ldr     %[a], [%[x]], #4\n\t"
                         "sxtab16 %[e0], %[off], %[a]\n\t"
                         "sxtab16 %[e1], %[off], %[b]\n\t"
                         "sxtab16 %[o0], %[off], %[a], ror #8\n\t"
                         "sxtab16 %[o1], %[off], %[b], ror #8\n\t"
                         "strd    %[e0], %[e1], [%[c]], #16\n\t"
                         "strd    %[o0], %[o1], [%[c], #-8]\n\t"
                         "cmp     %[x], %[end]\n\t"
                         "bne     1b\n\t"
                         : [x] "+r"(x0), [c] "+r"(cols), [a] "=&r"(a), [b] "=&r"(b), [e0] "=&r"(e0), [e1] "=&r"(e1),
                           [o0] "=&r"(o0), [o1] "=&r"(o1)
                         : [d] "r"(d), [off] "r"(off2), [end] "r"(end)
                         : "cc", "memory");
        return;
    }
#endif
    for (int32_t g = 0; g < k4; g += 4, cols += 4) {
        const uint32_t a = nn_ld32(x0 + g);
        cols[0] = nn_sxtab16(off2, a);      /* p0 (k0, k2) */
        cols[2] = nn_sxtab16_ror8(off2, a); /* p0 (k1, k3) */
        if (x1) {
            const uint32_t b = nn_ld32(x1 + g);
            cols[1] = nn_sxtab16(off2, b);
            cols[3] = nn_sxtab16_ror8(off2, b);
        } else {
            cols[1] = 0;
            cols[3] = 0;
        }
    }
}

/*
 * n rows of one pixel's half of the block's columns, one word of 4 taps per row (f_w * c == 4): the word at
 * src (then src + row_step, ...) widened with SXTAB16 into dst[0] (k0, k2) and dst[2] (k1, k3), dst += 4 per
 * row. keep != ~0: an edge pixel whose word is shifted (shl, shr) and whose clipped taps become `fill` (the
 * zero point). On the DSP target 8 instructions per row (11 at an edge) with every constant in a register.
 */
__attribute__((noinline)) static void nn_col_rows4(uint32_t *dst, const int8_t *src, int32_t n, int32_t row_step,
                                                   uint32_t shl, uint32_t shr, uint32_t keep, uint32_t fill,
                                                   uint32_t off2)
{
    if (n <= 0) {
        return;
    }
#if NN_DSP_ACLE
    uint32_t x, e;
    if (keep == 0xffffffffu) {
        __asm__ volatile("1:\n\t"
                         "ldr     %[x], [%[s]]\n\t"
                         "add     %[s], %[s], %[rs]\n\t"
                         "sxtab16 %[e], %[off], %[x]\n\t"
                         "sxtab16 %[x], %[off], %[x], ror #8\n\t"
                         "str     %[e], [%[d]], #16\n\t"
                         "str     %[x], [%[d], #-8]\n\t"
                         "subs    %[n], %[n], #1\n\t"
                         "bne     1b\n\t"
                         : [s] "+r"(src), [d] "+r"(dst), [n] "+r"(n), [x] "=&r"(x), [e] "=&r"(e)
                         : [rs] "r"(row_step), [off] "r"(off2)
                         : "cc", "memory");
        return;
    }
    if (keep != 0) { /* a clipped edge: the taps shift into place (the shifts bring in zeros), fill ORs in */
        __asm__ volatile("1:\n\t"
                         "ldr     %[x], [%[s]]\n\t"
                         "add     %[s], %[s], %[rs]\n\t"
                         "lsl     %[x], %[x], %[shl]\n\t"
                         "lsr     %[x], %[x], %[shr]\n\t"
                         "orr     %[x], %[x], %[fill]\n\t"
                         "sxtab16 %[e], %[off], %[x]\n\t"
                         "sxtab16 %[x], %[off], %[x], ror #8\n\t"
                         "str     %[e], [%[d]], #16\n\t"
                         "str     %[x], [%[d], #-8]\n\t"
                         "subs    %[n], %[n], #1\n\t"
                         "bne     1b\n\t"
                         : [s] "+r"(src), [d] "+r"(dst), [n] "+r"(n), [x] "=&r"(x), [e] "=&r"(e)
                         : [rs] "r"(row_step), [off] "r"(off2), [shl] "r"(shl), [shr] "r"(shr), [fill] "r"(fill)
                         : "cc", "memory");
        return;
    }
#endif
    for (int32_t r = 0; r < n; ++r, src += row_step, dst += 4) {
        const uint32_t x = (((nn_ld32(src) << shl) >> shr) & keep) | fill;
        dst[0] = nn_sxtab16(off2, x);
        dst[2] = nn_sxtab16_ror8(off2, x);
    }
}

/*
 * Pixel p's half of the block's columns built straight from the input when every filter row is whole
 * groups of 4 k (f_w * c a multiple of 4, dilation_w 1), as for DS-CNN's first conv (10x4 on one
 * channel): a row's taps are contiguous in the input and are widened 4 bytes at a time with SXTAB16
 * (no im2col column, no re-packing); rows above or below the input are 0. A filter row of one word
 * (f_w * c == 4, DS-CNN's first conv) goes through nn_col_rows4, which shifts an edge pixel's word into
 * place. Otherwise, when the left or right edge clips the pixel's taps (the same taps on every row),
 * each row is first copied into `pad` (row_k bytes of scratch) over the input zero point, which SXTAB16
 * turns into the 0 that ref's skipped tap contributes, so the widening loop is the same for every row.
 */
static void nn_cols2_rows(uint32_t *cols, int32_t p, const nn_conv_params_t *prm, const nn_dims_t *in_dims,
                          const int8_t *in, int32_t f_h, int32_t f_w, int32_t b, int32_t oy, int32_t ox, int32_t k4,
                          uint32_t off2, int8_t *pad)
{
    const int32_t in_h = in_dims->h, in_w = in_dims->w, c = in_dims->c;
    const int32_t iy0 = oy * prm->stride.h - prm->padding.h;
    const int32_t ix0 = ox * prm->stride.w - prm->padding.w;
    const int32_t row_k = f_w * c;
    const int32_t fx_lo = ix0 < 0 ? -ix0 : 0;
    const int32_t fx_hi = ix0 + f_w > in_w ? in_w - ix0 : f_w;
    const int clipped = fx_lo > 0 || fx_hi < f_w;
    const int8_t *const in_b = in + b * in_h * in_w * c;
    const int32_t k_lo = fx_lo * c, k_hi = fx_hi * c;
    const int32_t dh = prm->dilation.h, row_step = dh * in_w * c;
    const uint32_t zp4 = 0x01010101u * (uint8_t)(int8_t)-prm->input_offset;
    const int word_rows = row_k == 4 && in_w * c >= 4; /* one word per row (DS-CNN's 10x4 on one channel) */
    if (clipped && !word_rows) { /* the padding taps sit at the same places on every row: the zero point once */
        for (int32_t g = 0; g < row_k; g += 4) {
            nn_st32(pad + g, zp4);
        }
    }
    int32_t fy_lo = 0, fy_hi = f_h; /* the filter rows inside the input: [fy_lo, fy_hi) */
    while (fy_lo < f_h && iy0 + dh * fy_lo < 0) {
        ++fy_lo;
    }
    while (fy_hi > fy_lo && iy0 + dh * (fy_hi - 1) >= in_h) {
        --fy_hi;
    }
    uint32_t *dst = cols + p;
    for (int32_t k = 0; k < fy_lo * row_k; k += 4, dst += 4) {
        dst[0] = 0;
        dst[2] = 0;
        __asm__("" ::: "memory"); /* a few words: stores, not a call to memset */
    }
    int32_t off = ((iy0 + dh * fy_lo) * in_w + ix0) * c; /* the first inside row's first tap (as an offset:
                                                           * a clipped row starts outside the input) */
    if (word_rows) {
        /* The row's word is loaded from inside the row (its start clamped to [0, in_w*c - 4]) and, for an
         * edge pixel, shifted into place with the clipped taps filled with the zero point (which SXTAB16
         * makes 0): no byte copy through `pad`. */
        const int32_t start = ix0 * c, base = start < 0 ? 0 : (start > in_w * c - 4 ? in_w * c - 4 : start);
        const int32_t d = start - base; /* bytes: < 0 clipped on the left, > 0 on the right */
        uint32_t shl, shr;
        const uint32_t keep = nn_edge_word_keep(d, &shl, &shr);
        nn_col_rows4(dst, in_b + off + base - start, fy_hi - fy_lo, row_step, shl, shr, keep, zp4 & ~keep, off2);
        dst += 4 * (fy_hi - fy_lo);
    } else {
        for (int32_t fy = fy_lo; fy < fy_hi; ++fy, off += row_step) {
            const int8_t *s = pad;
            if (clipped) {
                for (int32_t k = k_lo; k < k_hi; ++k) {
                    pad[k] = in_b[off + k];
                }
            } else {
                s = in_b + off;
            }
            for (int32_t g = 0; g < row_k; g += 4, dst += 4) {
                const uint32_t x = nn_ld32(s + g);
                dst[0] = nn_sxtab16(off2, x);
                dst[2] = nn_sxtab16_ror8(off2, x);
            }
        }
    }
    for (int32_t k = fy_hi * row_k; k < f_h * row_k; k += 4, dst += 4) {
        dst[0] = 0;
        dst[2] = 0;
        __asm__("" ::: "memory");
    }
    for (int32_t k = f_h * row_k; k < k4; k += 4, dst += 4) {
        dst[0] = 0;
        dst[2] = 0;
        __asm__("" ::: "memory");
    }
}

/* Pixel p's half of the block's columns from a plain im2col column (x0, x1, x2, x3 -> (x0, x2), (x1, x3)). */
static inline void nn_cols2_put(uint32_t *cols, const int16_t *col, int32_t p, int32_t k4)
{
    for (int32_t g = 0; g < k4; g += 4, cols += 4) {
        const uint32_t lo = nn_ld32a(col + g), hi = nn_ld32a(col + g + 2);
        cols[p] = nn_pkhbt(lo, hi, 16);
        cols[2 + p] = nn_pkhtb(hi, lo, 16);
    }
}

static inline void nn_cols2_zero(uint32_t *cols, int32_t p, int32_t k4)
{
    for (int32_t g = 0; g < k4; g += 4, cols += 4) {
        cols[p] = 0;
        cols[2 + p] = 0;
        __asm__("" ::: "memory");
    }
}

/*
 * All output channels of n (1 or 2) pixels from the block's columns; pixel j's
 * outputs at out + j * out_c. fast: every channel takes the 2-instruction
 * requantization (SMMLAR + ASR, then SSAT and the clamp of `mode`); the
 * accumulators are twice the sums (doubled weights and bias, see nn_chq_t).
 */
NN_ALWAYS_INLINE void nn_conv_block(const int16_t *w16, const nn_chq_t *chq, int32_t out_c, int32_t k4,
                                    const uint32_t *cols, int32_t n, int8_t *out, int32_t out_offset,
                                    int32_t act_min, int32_t act_max, int32_t mode, int fast)
{
    int32_t oc = 0;
    if (fast && mode == 0 && n == 2 && out_c >= 4) {
        const int32_t groups = out_c >> 2;
        nn_group_2x4_fast0(w16, cols, k4, chq, out, out_c, groups);
        oc = 4 * groups;
        w16 += 4 * k4 * groups;
    }
    for (; oc < out_c; oc += 4, w16 += 4 * k4) {
        const nn_chq_t *c = chq + oc;
        int32_t acc[8] = {c[0].bias, c[0].bias, c[1].bias, c[1].bias, c[2].bias, c[2].bias, c[3].bias, c[3].bias};
        nn_mm_2x4_s16(w16, cols, k4, acc);
        const int32_t nch = out_c - oc < 4 ? out_c - oc : 4;
        if (fast && nch == 4 && n == 2) {
            int8_t *o0 = out + oc, *o1 = out + out_c + oc;
            for (int32_t ch = 0; ch < 4; ++ch) {
                o0[ch] = nn_chq_out_fast(&c[ch], acc[2 * ch], act_min, act_max, mode);
                o1[ch] = nn_chq_out_fast(&c[ch], acc[2 * ch + 1], act_min, act_max, mode);
            }
            continue;
        }
        for (int32_t ch = 0; ch < nch; ++ch) {
            for (int32_t j = 0; j < n; ++j) {
                out[j * out_c + oc + ch] = nn_chq_out(&c[ch], acc[2 * ch + j], out_offset, act_min, act_max, mode);
            }
        }
    }
}

static void nn_conv_block_any(const int16_t *w16, const nn_chq_t *chq, int32_t out_c, int32_t k4,
                              const uint32_t *cols, int32_t n, int8_t *out, const nn_conv_params_t *p, int fast)
{
    const int32_t oo = p->output_offset, lo = p->act_min, hi = p->act_max;
    if (!fast) {
        nn_conv_block(w16, chq, out_c, k4, cols, n, out, oo, lo, hi, nn_act_mode(lo, hi), 0);
        return;
    }
    switch (nn_act_mode(lo, hi)) {
    case 0:
        nn_conv_block(w16, chq, out_c, k4, cols, n, out, oo, lo, hi, 0, 1);
        break;
    case 1:
        nn_conv_block(w16, chq, out_c, k4, cols, n, out, oo, lo, hi, 1, 1);
        break;
    default:
        nn_conv_block(w16, chq, out_c, k4, cols, n, out, oo, lo, hi, 2, 1);
        break;
    }
}

int nn_conv2d_s8_simd(const nn_context_t *ctx, const nn_conv_params_t *p, const nn_quant_t *q,
                      const nn_dims_t *in_dims, const int8_t *in,
                      const nn_dims_t *filter_dims, const int8_t *filter,
                      const int32_t *bias, const nn_dims_t *out_dims, int8_t *out)
{
    (void)bias; /* folded into the exporter's table (ctx->aux) */
    if (!ctx || !p || !q || !in_dims || !in || !filter_dims || !filter || !out_dims || !out) {
        return NN_ERR_ARG;
    }
    const int32_t f_h = filter_dims->h, f_w = filter_dims->w;
    const int32_t out_h = out_dims->h, out_w = out_dims->w, out_c = out_dims->c;
    if (filter_dims->c != in_dims->c || filter_dims->n != out_c) {
        return NN_ERR_UNSUPPORTED;
    }
    const int32_t in_c = in_dims->c;
    const int32_t k4 = nn_round4(f_h * f_w * in_c);
    const int direct = f_h == 1 && f_w == 1 && p->stride.h == 1 && p->stride.w == 1 && p->padding.h == 0 &&
                       p->padding.w == 0 && (in_c & 3) == 0 && out_h == in_dims->h && out_w == in_dims->w;
    if (direct && k4 <= NN_CONV2D_1X1_S8_SIMD_MAX_K4) { /* the exporter gave it its own weight layout */
        return nn_conv2d_1x1_s8_simd(ctx, p, q, in_dims, in, filter_dims, filter, bias, out_dims, out);
    }
    if (f_w * in_c == 4 && k4 <= NN_CONV2D_1X1_S8_SIMD_MAX_K4 && p->dilation.h == 1 && p->dilation.w == 1 &&
        in_dims->w * in_c >= 4) { /* likewise (edgekws.export.kernels.simd_conv_3x2) */
        return nn_conv2d_rows4_s8_simd(ctx, p, q, in_dims, in, filter_dims, filter, bias, out_dims, out);
    }
    const uint32_t need = direct ? NN_CONV2D_S8_SIMD_SCRATCH_1X1(k4) : NN_CONV2D_S8_SIMD_SCRATCH(k4);
    const nn_chq_t *chq = nn_chq_table(ctx, out_c);
    if (!chq || !ctx->scratch || ctx->scratch_size < need || ((uintptr_t)ctx->scratch & 3u) != 0 ||
        ((uintptr_t)filter & 3u) != 0) {
        return NN_ERR_ARG;
    }
    const int16_t *w16 = (const int16_t *)(const void *)filter;
    uint32_t *cols = (uint32_t *)ctx->scratch; /* 2 * k4 int16, interleaved */
    int16_t *tmp = (int16_t *)(void *)(cols + k4); /* im2col path: k4 int16 */
    const uint32_t off2 = nn_pack16(p->input_offset, p->input_offset);
    const int fast = nn_chq_all_fast(chq, out_c);
    const int rows = ((f_w * in_c) & 3) == 0 && p->dilation.w == 1;
    const int32_t n_pix = out_h * out_w;
    for (int32_t b = 0; b < in_dims->n; ++b) {
        int8_t *ob = out + b * n_pix * out_c;
        for (int32_t i = 0; i < n_pix; i += 2) {
            const int32_t n = n_pix - i < 2 ? n_pix - i : 2;
            if (direct) {
                const int8_t *x0 = in + (b * n_pix + i) * in_c;
                nn_cols2_direct(cols, x0, n == 2 ? x0 + in_c : NULL, k4, off2);
            } else if (rows) {
                for (int32_t j = 0; j < 2; ++j) {
                    if (j < n) {
                        const int32_t pix = i + j;
                        nn_cols2_rows(cols, j, p, in_dims, in, f_h, f_w, b, pix / out_w, pix % out_w, k4, off2,
                                      (int8_t *)tmp);
                    } else {
                        nn_cols2_zero(cols, j, k4);
                    }
                }
            } else {
                for (int32_t j = 0; j < 2; ++j) {
                    if (j < n) {
                        const int32_t pix = i + j;
                        nn_im2col_s16(tmp, p, in_dims, in, f_h, f_w, b, pix / out_w, pix % out_w, k4);
                        nn_cols2_put(cols, tmp, j, k4);
                    } else {
                        nn_cols2_zero(cols, j, k4);
                    }
                }
            }
            nn_conv_block_any(w16, chq, out_c, k4, cols, n, ob + i * out_c, p, fast);
        }
    }
    return NN_OK;
}
