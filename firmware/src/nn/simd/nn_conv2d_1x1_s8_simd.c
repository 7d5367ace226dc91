/*
 * nn_conv2d_1x1_s8_simd.c - int8 1x1 convolution (stride 1, no padding, input channels a multiple of 4,
 * K4 = in_c <= NN_CONV2D_1X1_S8_SIMD_MAX_K4) on the Cortex-M DSP extension: DS-CNN's pointwise layers.
 *
 * Three output pixels x two output channels per register block: per k pair one LDM fetches the 3 pixels'
 * int16 pairs, one LDRD the 2 channels' and 6 SMLADs use them (8 instructions per 12 MACs; the
 * 2-pixel x 4-channel block of nn_conv2d_s8_simd needs 11 per 16): 6 accumulators, 3 + 2 operands and 2
 * pointers leave r14 for the output pointer. The 3 pixels' columns are widened once per block (SXTAB16 with
 * the input offset, one STM per 4 k) into a 6*K4-byte buffer on the stack, so the layer takes no arena
 * scratch. The weights come from the exporter (edgekws.export.kernels._relayout_simd_conv_3x2) as one
 * record per channel pair that a single pointer walks: {2*bias0, 2*bias1} (one LDRD seeds the
 * accumulators in the first pair's SMLADs), the doubled int16 pairs, then {mult, rd, R} per channel (one
 * LDM fetches both channels'; nn_chq_t's fast requantization: SMMLAR, ASR, SSAT, STRB per output). Per
 * channel pair at K4 = 64: 9 + 31 * 8 + 29 = 286 instructions for 384 MACs. A last block of 1 or 2 pixels
 * runs a 2-pixel variant (a single pixel repeated: the same value stored twice at the same place). A clamp
 * narrower than int8 is applied afterwards to the block's bytes (SSUB8 + SEL, 4 at a time). Channels off the
 * fast requantization or an odd channel count: the accumulators in assembly (nn_pw3_acc), the general
 * requantization in C. The host build runs the C block (its model of all of it). DS-CNN-S pointwise (125 pixels, 64 -> 64): 391,878 QEMU instructions
 * for 512,000 MACs (1.31 MAC/instruction).
 */
#include "edgekws/nn_simd.h"
#include "nn_simd_common.h"

#if NN_DSP_ACLE
#define NN_ARG __attribute__((unused)) /* a naked function's arguments are read by its asm (r0..r3, stack) */

/* 4 k of the 3 pixels' columns: 3 loads, 6 SXTAB16 (input offset added), one STM. */
#define NN_PW3_COL4                                                 \
    "ldr     r5, [r1, r2]\n\t"                                      \
    "ldr     r6, [r1, r3]\n\t"                                      \
    "ldr     r4, [r1], #4\n\t"                                      \
    "sxtab16 r7, lr, r4, ror #8\n\t"                                \
    "sxtab16 r8, lr, r5, ror #8\n\t"                                \
    "sxtab16 r9, lr, r6, ror #8\n\t"                                \
    "sxtab16 r4, lr, r4\n\t"                                        \
    "sxtab16 r5, lr, r5\n\t"                                        \
    "sxtab16 r6, lr, r6\n\t"                                        \
    "stm     r0!, {r4-r9}\n\t"

/*
 * The 3 pixels' columns: per 4 k the words [p0 (k0,k2)][p1 (k0,k2)][p2 (k0,k2)][p0 (k1,k3)][p1][p2], the
 * order the block's LDM reads; pixel 1 at x + d1, pixel 2 at x + d2 (bytes). 10 instructions per 4 k and a
 * loop test per 16 k (K4 % 16 == 0) or per 4 k.
 */
__attribute__((naked, noinline)) static void nn_pw3_cols(NN_ARG uint32_t *cols, NN_ARG const int8_t *x,
                                                          NN_ARG int32_t d1, NN_ARG int32_t d2, NN_ARG int32_t k4,
                                                          NN_ARG uint32_t off2)
{
    __asm__ volatile("push    {r4-r9, lr}\n\t"
                     "ldr     r12, [sp, #28]\n\t" /* k4 */
                     "ldr     lr, [sp, #32]\n\t"  /* off2: the input offset in both halves */
                     "tst     r12, #15\n\t" /* K4 a multiple of 16: the loop unrolled 4 times */
                     "add     r12, r1, r12\n\t"
                     "bne     1f\n\t"
                     "2:\n\t" NN_PW3_COL4 NN_PW3_COL4 NN_PW3_COL4 NN_PW3_COL4
                     "cmp     r1, r12\n\t"
                     "bne     2b\n\t"
                     "pop     {r4-r9, pc}\n\t"
                     "1:\n\t" NN_PW3_COL4
                     "cmp     r1, r12\n\t"
                     "bne     1b\n\t"
                     "pop     {r4-r9, pc}\n\t");
}

/* One k pair of the block (32 bytes of code, every instruction 32-bit: the computed entry counts on it):
 * r9 the columns, r12 the weights, r0..r2 channel 0's and r3..r5 channel 1's accumulators (pixels 0..2). */
#define NN_PW3_PAIR                                                 \
    "ldm    r9!, {r6, r7, r8}\n\t"                                  \
    "ldrd   r10, r11, [r12], #8\n\t"                                \
    "smlad  r0, r10, r6, r0\n\t"                                    \
    "smlad  r1, r10, r7, r1\n\t"                                    \
    "smlad  r2, r10, r8, r2\n\t"                                    \
    "smlad  r3, r11, r6, r3\n\t"                                    \
    "smlad  r4, r11, r7, r4\n\t"                                    \
    "smlad  r5, r11, r8, r5\n\t"
#define NN_PW3_PAIR4 NN_PW3_PAIR NN_PW3_PAIR NN_PW3_PAIR NN_PW3_PAIR
#define NN_PW3_PAIR31                                                                                             \
    NN_PW3_PAIR4 NN_PW3_PAIR4 NN_PW3_PAIR4 NN_PW3_PAIR4 NN_PW3_PAIR4 NN_PW3_PAIR4 NN_PW3_PAIR4 NN_PW3_PAIR \
        NN_PW3_PAIR NN_PW3_PAIR
/* The group's first k pair: the biases (LDRD into r0, r3) are the SMLADs' addends, no accumulator moves. */
#define NN_PW3_FIRST                                                \
    "ldrd   r0, r3, [r12], #8\n\t"                                  \
    "ldm    r9!, {r6, r7, r8}\n\t"                                  \
    "ldrd   r10, r11, [r12], #8\n\t"                                \
    "smlad  r1, r10, r7, r0\n\t"                                    \
    "smlad  r2, r10, r8, r0\n\t"                                    \
    "smlad  r0, r10, r6, r0\n\t"                                    \
    "smlad  r4, r11, r7, r3\n\t"                                    \
    "smlad  r5, r11, r8, r3\n\t"                                    \
    "smlad  r3, r11, r6, r3\n\t"
/* One channel's 3 outputs (accumulators A, B, C = pixels 0, 1, 2) with its {mult, rd, R} in M, D, R. */
#define NN_PW3_RQ(A, B, C, M, D, R)                                 \
    "smmlar " A ", " A ", " M ", " D "\n\t"                         \
    "smmlar " B ", " B ", " M ", " D "\n\t"                         \
    "smmlar " C ", " C ", " M ", " D "\n\t"                         \
    "asr    " A ", " A ", " R "\n\t"                                \
    "asr    " B ", " B ", " R "\n\t"                                \
    "asr    " C ", " C ", " R "\n\t"                                \
    "ssat   " A ", #8, " A "\n\t"                                   \
    "ssat   " B ", #8, " B "\n\t"                                   \
    "ssat   " C ", #8, " C "\n\t"
/* The pair's 6 outputs: one LDM fetches both channels' {mult, rd, R} (r6..r11; the columns pointer and
 * the weight registers are free here), and once they are used up r6 / r7 take pixel 1's / 2's output
 * offset for the stores (lr: pixel 0's output, one channel further per post-indexed store). */
#define NN_PW3_OUT                                                  \
    "ldm    r12!, {r6, r7, r8, r9, r10, r11}\n\t"                   \
    NN_PW3_RQ("r0", "r1", "r2", "r6", "r7", "r8")                   \
    NN_PW3_RQ("r3", "r4", "r5", "r9", "r10", "r11")                 \
    "ldrd   r6, r7, [sp]\n\t"                                       \
    "strb   r1, [lr, r6]\n\t"                                       \
    "strb   r2, [lr, r7]\n\t"                                       \
    "strb   r0, [lr], #1\n\t"                                       \
    "strb   r4, [lr, r6]\n\t"                                       \
    "strb   r5, [lr, r7]\n\t"                                       \
    "strb   r3, [lr], #1\n\t"

/*
 * All channel pairs of one 3-pixel block: per pair the first k pair with the biases, the other np - 1 in a
 * straight-line block of 31 entered part-way so that it ends at the last one (JUMP: a computed BX; without
 * it the block is entered at its top, np == 32, K4 == 64, DS-CNN's pointwise layers), then the 6 outputs.
 * Frame: [sp] d1, d2 (output offsets of pixels 1, 2), columns, weights end, block entry.
 */
#define NN_PW3_BODY(JUMP)                                                                                     \
    "push   {r4-r11, lr}\n\t"                                                                                 \
    "sub    sp, sp, #28\n\t"                                                                                  \
    "ldr    r4, [sp, #64]\n\t"                                                                                \
    "ldr    r5, [sp, #68]\n\t"                                                                                \
    "strd   r4, r5, [sp]\n\t"                                                                                 \
    "lsl    r6, r2, #3\n\t" /* record bytes: 8 * np + 32 */                                                  \
    "add    r6, r6, #32\n\t"                                                                                  \
    "ldr    r7, [sp, #72]\n\t"                                                                                \
    "mla    r7, r7, r6, r0\n\t" /* the weights' end */                                                       \
    "strd   r1, r7, [sp, #8]\n\t"                                                                             \
    "adr    r6, 5f\n\t"                                                                                       \
    "sub    r7, r2, #1\n\t"                                                                                   \
    "sub    r6, r6, r7, lsl #5\n\t" /* np - 1 pairs of 32 bytes before the block's end */                    \
    "orr    r6, r6, #1\n\t"                                                                                   \
    "str    r6, [sp, #16]\n\t"                                                                                \
    "mov    r12, r0\n\t"                                                                                      \
    "mov    r9, r1\n\t"                                                                                       \
    "mov    lr, r3\n\t"                                                                                       \
    "0:\n\t" NN_PW3_FIRST JUMP NN_PW3_PAIR31 "5:\n\t" NN_PW3_OUT                                            \
    "ldrd   r9, r10, [sp, #8]\n\t" /* the columns again; the weights' end */                                 \
    "cmp    r12, r10\n\t"                                                                                     \
    "bne    0b\n\t"                                                                                           \
    "add    sp, sp, #28\n\t"                                                                                  \
    "pop    {r4-r11, pc}\n\t"

#define NN_PW3_JUMP                                                 \
    "ldr    r6, [sp, #16]\n\t"                                      \
    "bx     r6\n\t"

__attribute__((naked, noinline)) static void nn_pw3_groups(NN_ARG const int8_t *w, NN_ARG const uint32_t *cols,
                                                            NN_ARG int32_t np, NN_ARG int8_t *o, NN_ARG int32_t d1,
                                                            NN_ARG int32_t d2, NN_ARG int32_t groups)
{
    __asm__ volatile(NN_PW3_BODY(NN_PW3_JUMP));
}

/* The same for np == 32 exactly and an even number of channel pairs: the block is entered at its top (no
 * computed jump) and the channel-pair loop is unrolled twice (one loop test per 2 pairs). */
__attribute__((naked, noinline)) static void nn_pw3_groups32(NN_ARG const int8_t *w, NN_ARG const uint32_t *cols,
                                                              NN_ARG int32_t np, NN_ARG int8_t *o,
                                                              NN_ARG int32_t d1, NN_ARG int32_t d2,
                                                              NN_ARG int32_t groups)
{
    __asm__ volatile(NN_PW3_BODY(NN_PW3_PAIR31 "5:\n\t" NN_PW3_OUT "ldr    r9, [sp, #8]\n\t" NN_PW3_FIRST));
}

/* The last block's 2 pixels (or 1, repeated): the same record walk with 4 SMLADs per k pair (24 bytes of
 * code; the LDM still reads the 3-pixel columns, the third unused) and 4 outputs per channel pair: 71
 * instructions less per channel pair than a 3-pixel block with a repeated pixel. */
#define NN_PW2_PAIR                                                 \
    "ldm    r9!, {r6, r7, r8}\n\t"                                  \
    "ldrd   r10, r11, [r12], #8\n\t"                                \
    "smlad  r0, r10, r6, r0\n\t"                                    \
    "smlad  r1, r10, r7, r1\n\t"                                    \
    "smlad  r3, r11, r6, r3\n\t"                                    \
    "smlad  r4, r11, r7, r4\n\t"
#define NN_PW2_PAIR4 NN_PW2_PAIR NN_PW2_PAIR NN_PW2_PAIR NN_PW2_PAIR
#define NN_PW2_PAIR31                                                                                             \
    NN_PW2_PAIR4 NN_PW2_PAIR4 NN_PW2_PAIR4 NN_PW2_PAIR4 NN_PW2_PAIR4 NN_PW2_PAIR4 NN_PW2_PAIR4 NN_PW2_PAIR \
        NN_PW2_PAIR NN_PW2_PAIR
#define NN_PW2_RQ(A, B, M, D, R)                                    \
    "smmlar " A ", " A ", " M ", " D "\n\t"                         \
    "smmlar " B ", " B ", " M ", " D "\n\t"                         \
    "asr    " A ", " A ", " R "\n\t"                                \
    "asr    " B ", " B ", " R "\n\t"                                \
    "ssat   " A ", #8, " A "\n\t"                                   \
    "ssat   " B ", #8, " B "\n\t"

__attribute__((naked, noinline)) static void nn_pw2_groups(NN_ARG const int8_t *w, NN_ARG const uint32_t *cols,
                                                            NN_ARG int32_t np, NN_ARG int8_t *o, NN_ARG int32_t d1,
                                                            NN_ARG int32_t d2, NN_ARG int32_t groups)
{
    __asm__ volatile("push   {r4-r11, lr}\n\t"
                     "sub    sp, sp, #28\n\t"
                     "ldr    r4, [sp, #64]\n\t"
                     "str    r4, [sp]\n\t"
                     "lsl    r6, r2, #3\n\t"
                     "add    r6, r6, #32\n\t"
                     "ldr    r7, [sp, #72]\n\t"
                     "mla    r7, r7, r6, r0\n\t"
                     "strd   r1, r7, [sp, #8]\n\t"
                     "adr    r6, 5f\n\t"
                     "sub    r7, r2, #1\n\t"
                     "add    r7, r7, r7, lsl #1\n\t"
                     "sub    r6, r6, r7, lsl #3\n\t" /* np - 1 pairs of 24 bytes before the block's end */
                     "orr    r6, r6, #1\n\t"
                     "str    r6, [sp, #16]\n\t"
                     "mov    r12, r0\n\t"
                     "mov    r9, r1\n\t"
                     "mov    lr, r3\n\t"
                     "0:\n\t"
                     "ldrd   r0, r3, [r12], #8\n\t"
                     "ldm    r9!, {r6, r7, r8}\n\t"
                     "ldrd   r10, r11, [r12], #8\n\t"
                     "smlad  r1, r10, r7, r0\n\t"
                     "smlad  r0, r10, r6, r0\n\t"
                     "smlad  r4, r11, r7, r3\n\t"
                     "smlad  r3, r11, r6, r3\n\t"
                     "ldr    r6, [sp, #16]\n\t"
                     "bx     r6\n\t" NN_PW2_PAIR31
                     "5:\n\t"
                     "ldm    r12!, {r6, r7, r8, r9, r10, r11}\n\t" NN_PW2_RQ("r0", "r1", "r6", "r7", "r8")
                     NN_PW2_RQ("r3", "r4", "r9", "r10", "r11")
                     "ldr    r6, [sp]\n\t"
                     "strb   r1, [lr, r6]\n\t"
                     "strb   r0, [lr], #1\n\t"
                     "strb   r4, [lr, r6]\n\t"
                     "strb   r3, [lr], #1\n\t"
                     "ldrd   r9, r10, [sp, #8]\n\t"
                     "cmp    r12, r10\n\t"
                     "bne    0b\n\t"
                     "add    sp, sp, #28\n\t"
                     "pop    {r4-r11, pc}\n\t");
}

/* The accumulators only, for the C requantization of what the fast path does not take: the same walk, per
 * channel pair r0..r5 stored to acc (channel 0's 3 pixels, then channel 1's) and the constants skipped. */
__attribute__((naked, noinline)) static void nn_pw3_acc(NN_ARG const int8_t *w, NN_ARG const uint32_t *cols,
                                                         NN_ARG int32_t np, NN_ARG int32_t *acc, NN_ARG int32_t groups)
{
    __asm__ volatile("push   {r4-r11, lr}\n\t"
                     "sub    sp, sp, #28\n\t"
                     "str    r3, [sp]\n\t"
                     "lsl    r6, r2, #3\n\t"
                     "add    r6, r6, #32\n\t"
                     "ldr    r7, [sp, #64]\n\t"
                     "mla    r7, r7, r6, r0\n\t"
                     "strd   r1, r7, [sp, #8]\n\t"
                     "adr    r6, 5f\n\t"
                     "sub    r7, r2, #1\n\t"
                     "sub    r6, r6, r7, lsl #5\n\t"
                     "orr    r6, r6, #1\n\t"
                     "str    r6, [sp, #16]\n\t"
                     "mov    r12, r0\n\t"
                     "mov    r9, r1\n\t"
                     "0:\n\t" NN_PW3_FIRST NN_PW3_JUMP NN_PW3_PAIR31
                     "5:\n\t"
                     "ldr    r6, [sp]\n\t"
                     "stm    r6!, {r0-r5}\n\t"
                     "str    r6, [sp]\n\t"
                     "add    r12, r12, #24\n\t"
                     "ldrd   r9, r10, [sp, #8]\n\t"
                     "cmp    r12, r10\n\t"
                     "bne    0b\n\t"
                     "add    sp, sp, #28\n\t"
                     "pop    {r4-r11, pc}\n\t");
}
#else
static void nn_pw3_cols(uint32_t *cols, const int8_t *x, int32_t d1, int32_t d2, int32_t k4, uint32_t off2)
{
    for (int32_t g = 0; g < k4; g += 4, cols += 6) {
        const uint32_t a = nn_ld32(x + g), b = nn_ld32(x + d1 + g), c = nn_ld32(x + d2 + g);
        cols[0] = nn_sxtab16(off2, a);
        cols[1] = nn_sxtab16(off2, b);
        cols[2] = nn_sxtab16(off2, c);
        cols[3] = nn_sxtab16_ror8(off2, a);
        cols[4] = nn_sxtab16_ror8(off2, b);
        cols[5] = nn_sxtab16_ror8(off2, c);
    }
}
#endif

#if !NN_DSP_ACLE
/*
 * The block in C, any clamp and requantization path: the host build's model of nn_pw3_groups and
 * nn_pw3_block_acc (same record walk, same arithmetic). The accumulators are scalars (6 registers, no array in memory) and the clamp mode is a
 * constant in each of nn_pw3_block_c's three copies.
 */
NN_ALWAYS_INLINE void nn_pw3_block_m(const int8_t *w, const uint32_t *cols, int32_t k4, int32_t out_c, int8_t *o,
                                     int32_t d1, int32_t d2, const nn_conv_params_t *p, int32_t mode)
{
    const int32_t np = k4 / 2;
    for (int32_t ch = 0; ch < out_c; ch += 2, w += 8 * np + 32) {
        int32_t a0 = (int32_t)nn_ld32a(w), b0 = (int32_t)nn_ld32a(w + 4);
        int32_t a1 = a0, a2 = a0, b1 = b0, b2 = b0;
        const int8_t *wp = w + 8;
        const uint32_t *x = cols;
        for (int32_t j = 0; j < np; ++j, wp += 8, x += 3) {
            const uint32_t w0 = nn_ld32a(wp), w1 = nn_ld32a(wp + 4);
            const uint32_t x0 = x[0], x1 = x[1], x2 = x[2];
            a0 = nn_smlad(w0, x0, a0);
            a1 = nn_smlad(w0, x1, a1);
            a2 = nn_smlad(w0, x2, a2);
            b0 = nn_smlad(w1, x0, b0);
            b1 = nn_smlad(w1, x1, b1);
            b2 = nn_smlad(w1, x2, b2);
        }
        for (int32_t c = 0; c < 2 && ch + c < out_c; ++c, wp += 12) {
            const nn_chq_t row = {0, (int32_t)nn_ld32a(wp), (int32_t)nn_ld32a(wp + 4), (int32_t)nn_ld32a(wp + 8)};
            const int32_t oo = p->output_offset, lo = p->act_min, hi = p->act_max;
            o[ch + c] = nn_chq_out(&row, c ? b0 : a0, oo, lo, hi, mode);
            o[d1 + ch + c] = nn_chq_out(&row, c ? b1 : a1, oo, lo, hi, mode);
            o[d2 + ch + c] = nn_chq_out(&row, c ? b2 : a2, oo, lo, hi, mode);
        }
    }
}

#endif

#if NN_DSP_ACLE
/* Requantize `groups` channel pairs from nn_pw3_acc's buffer with the records' constants (mode a constant). */
NN_ALWAYS_INLINE void nn_pw3_out_m(const int8_t *w, const int32_t *acc, int32_t np, int32_t ch0, int32_t out_c,
                                   int32_t groups, int8_t *o, const int32_t d[3], const nn_conv_params_t *p,
                                   int32_t mode)
{
    for (int32_t g = 0; g < groups; ++g, w += 8 * np + 32, acc += 6) {
        const int8_t *q = w + 8 + 8 * np;
        for (int32_t c = 0; c < 2 && ch0 + 2 * g + c < out_c; ++c, q += 12) {
            const nn_chq_t row = {0, (int32_t)nn_ld32a(q), (int32_t)nn_ld32a(q + 4), (int32_t)nn_ld32a(q + 8)};
            for (int32_t j = 0; j < 3; ++j) {
                o[d[j] + ch0 + 2 * g + c] =
                    nn_chq_out(&row, acc[3 * c + j], p->output_offset, p->act_min, p->act_max, mode);
            }
        }
    }
}

/* The device's path off the fast requantization: the accumulators in assembly, 16 channel pairs at a time
 * (384 bytes of stack), the requantization in C. */
static void nn_pw3_block_acc(const int8_t *w, const uint32_t *cols, int32_t k4, int32_t out_c, int8_t *o,
                             int32_t d1, int32_t d2, const nn_conv_params_t *p)
{
    int32_t acc[16 * 6];
    const int32_t np = k4 / 2, pairs = (out_c + 1) / 2, mode = nn_act_mode(p->act_min, p->act_max);
    const int32_t d[3] = {0, d1, d2};
    for (int32_t g0 = 0; g0 < pairs; g0 += 16) {
        const int32_t ng = pairs - g0 < 16 ? pairs - g0 : 16;
        const int8_t *wg = w + g0 * (8 * np + 32);
        nn_pw3_acc(wg, cols, np, acc, ng);
        if (mode == 0) {
            nn_pw3_out_m(wg, acc, np, 2 * g0, out_c, ng, o, d, p, 0);
        } else if (mode == 1) {
            nn_pw3_out_m(wg, acc, np, 2 * g0, out_c, ng, o, d, p, 1);
        } else {
            nn_pw3_out_m(wg, acc, np, 2 * g0, out_c, ng, o, d, p, 2);
        }
    }
}
#endif

#if !NN_DSP_ACLE

static void nn_pw3_block_c(const int8_t *w, const uint32_t *cols, int32_t k4, int32_t out_c, int8_t *o, int32_t d1,
                           int32_t d2, const nn_conv_params_t *p)
{
    switch (nn_act_mode(p->act_min, p->act_max)) {
    case 0:
        nn_pw3_block_m(w, cols, k4, out_c, o, d1, d2, p, 0);
        break;
    case 1:
        nn_pw3_block_m(w, cols, k4, out_c, o, d1, d2, p, 1);
        break;
    default:
        nn_pw3_block_m(w, cols, k4, out_c, o, d1, d2, p, 2);
        break;
    }
}

#endif

int nn_simd_block3x2_fast(const nn_chq_t *chq, int32_t out_c, const nn_conv_params_t *p)
{
    (void)p;
    return NN_DSP_ACLE && nn_chq_all_fast(chq, out_c) && (out_c & 1) == 0;
}

NN_ALWAYS_INLINE void nn_block3x2(const int8_t *w, const uint32_t *cols, int32_t k4, int32_t out_c, int8_t *o,
                                   int32_t d1, int32_t d2, int32_t n, const nn_conv_params_t *p, int fast)
{
#if NN_DSP_ACLE
    if (fast) {
        if (n < 3) { /* a last block of 1 or 2 pixels */
            nn_pw2_groups(w, cols, k4 / 2, o, d1, 0, out_c / 2);
        } else if (k4 == 64 && (out_c & 3) == 0) {
            nn_pw3_groups32(w, cols, k4 / 2, o, d1, d2, out_c / 2);
        } else {
            nn_pw3_groups(w, cols, k4 / 2, o, d1, d2, out_c / 2);
        }
        if (p->act_min > -128 || p->act_max < 127) {
            /* the assembly saturates to int8 only; a narrower clamp of the saturated value is the same as of
             * the value (-128 <= act_min <= act_max <= 127) */
            const int8_t lo = (int8_t)p->act_min, hi = (int8_t)p->act_max;
            const uint32_t lo4 = 0x01010101u * (uint8_t)lo, hi4 = 0x01010101u * (uint8_t)hi;
            const int32_t d[3] = {0, d1, d2};
            for (int32_t j = 0; j < n; ++j) {
                int8_t *oj = o + d[j];
                int32_t c = 0;
                for (; c + 4 <= out_c; c += 4) { /* 4 bytes at a time: SSUB8 sets GE per byte, SEL picks */
                    uint32_t v = nn_ld32(oj + c), t;
                    __asm__("ssub8 %[t], %[v], %[lo]\n\t"
                            "sel   %[v], %[v], %[lo]\n\t"
                            "ssub8 %[t], %[hi], %[v]\n\t"
                            "sel   %[v], %[v], %[hi]\n\t"
                            : [v] "+r"(v), [t] "=&r"(t)
                            : [lo] "r"(lo4), [hi] "r"(hi4));
                    nn_st32(oj + c, v);
                }
                for (; c < out_c; ++c) {
                    oj[c] = oj[c] < lo ? lo : (oj[c] > hi ? hi : oj[c]);
                }
            }
        }
        return;
    }
    (void)n;
    nn_pw3_block_acc(w, cols, k4, out_c, o, d1, d2, p);
#else
    (void)fast;
    (void)n;
    nn_pw3_block_c(w, cols, k4, out_c, o, d1, d2, p);
#endif
}

void nn_simd_block3x2(const int8_t *w, const uint32_t *cols, int32_t k4, int32_t out_c, int8_t *o, int32_t d1,
                      int32_t d2, int32_t n, const nn_conv_params_t *p, int fast)
{
    nn_block3x2(w, cols, k4, out_c, o, d1, d2, n, p, fast);
}

int nn_conv2d_1x1_s8_simd(const nn_context_t *ctx, const nn_conv_params_t *p, const nn_quant_t *q,
                          const nn_dims_t *in_dims, const int8_t *in,
                          const nn_dims_t *filter_dims, const int8_t *filter,
                          const int32_t *bias, const nn_dims_t *out_dims, int8_t *out)
{
    (void)bias; /* in the exporter's weight records */
    (void)q;    /* likewise the requantization */
    if (!ctx || !p || !in_dims || !in || !filter_dims || !filter || !out_dims || !out) {
        return NN_ERR_ARG;
    }
    const int32_t in_c = in_dims->c, out_c = out_dims->c;
    if (filter_dims->h != 1 || filter_dims->w != 1 || filter_dims->c != in_c || filter_dims->n != out_c ||
        p->stride.h != 1 || p->stride.w != 1 || p->padding.h != 0 || p->padding.w != 0 || (in_c & 3) != 0 ||
        in_c > NN_CONV2D_1X1_S8_SIMD_MAX_K4 || in_c <= 0 || out_dims->h != in_dims->h ||
        out_dims->w != in_dims->w || out_dims->n != in_dims->n) {
        return NN_ERR_UNSUPPORTED;
    }
    const nn_chq_t *chq = nn_chq_table(ctx, out_c);
    if (!chq || ((uintptr_t)filter & 3u) != 0) {
        return NN_ERR_ARG;
    }
    uint32_t cols[6 * NN_CONV2D_1X1_S8_SIMD_MAX_K4 / 4] __attribute__((aligned(8)));
    const uint32_t off2 = nn_pack16(p->input_offset, p->input_offset);
    const int32_t k4 = in_c, n_pix = in_dims->n * in_dims->h * in_dims->w;
    const int fast = nn_simd_block3x2_fast(chq, out_c, p);
    for (int32_t i = 0; i < n_pix; i += 3) {
        const int32_t j1 = i + 1 < n_pix ? 1 : 0;                /* a last block of 1 or 2 pixels repeats its */
        const int32_t j2 = i + 2 < n_pix ? 2 : n_pix - 1 - i;    /* last one (same outputs, same place)       */
        nn_pw3_cols(cols, in + i * in_c, j1 * in_c, j2 * in_c, k4, off2);
        nn_block3x2(filter, cols, k4, out_c, out + i * out_c, j1 * out_c, j2 * out_c, j2 + 1, p, fast);
    }
    return NN_OK;
}
