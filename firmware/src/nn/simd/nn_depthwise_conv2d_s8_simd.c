/*
 * nn_depthwise_conv2d_s8_simd.c - int8 depthwise convolution (depth
 * multiplier 1) on the DSP extension.
 *
 * Any shape (the 3x3 / stride 1 / padding (0 or 1, 1) layers of DS-CNN take
 * the column-walk path further down instead): per output pixel the valid taps
 * are listed once (input and weight pointers),
 * so border pixels do less work and nothing is padded; then 4 channels at a
 * time: one word of 4 inputs and one of 4 weights per tap, SXTAB16 adds the
 * input offset to channels (0,2) and (1,3), SXTB16 unpacks the weights the
 * same way, and SMLABB/SMLATT accumulate each channel (depthwise sums over
 * taps, not channels, so SMLAD pairs would need a re-pack that costs what it
 * saves). Weights stay in TFLite's [f_h][f_w][C] layout.
 *
 * No scratch on this path: the per-channel bias, multiplier and the two constants of
 * nn_requantize_r2() (output offset folded in) come from the exporter's table
 * in flash (ctx->aux, nn_chq_t), computed once at export time.
 */
#include <stddef.h>

#include "edgekws/nn_simd.h"
#include "nn_simd_common.h"

typedef struct {
    const int8_t *x; /* input at (iy, ix, 0) */
    const int8_t *w; /* weights at (fy, fx, 0) */
} nn_dw_tap_t;

/* Sum over the taps for channels c..c+3: acc[j] += w[t][c+j] * (x[t][c+j] + offset). */
NN_ALWAYS_INLINE void nn_dw_taps4(const nn_dw_tap_t *tp, const nn_dw_tap_t *tend, int32_t c, uint32_t off2,
                                  int32_t *a0, int32_t *a1, int32_t *a2, int32_t *a3)
{
#if NN_DSP_ACLE
    int32_t s0 = *a0, s1 = *a1, s2 = *a2, s3 = *a3;
    if (tp != tend) {
        const int8_t *xp, *wp;
        uint32_t x, w;
        __asm__("1:\n\t"
                "ldrd    %[xp], %[wp], [%[tp]], #8\n\t"
                "ldr     %[x], [%[xp], %[c]]\n\t"
                "ldr     %[w], [%[wp], %[c]]\n\t"
                "sxtab16 %[xp], %[off2], %[x]\n\t"
                "sxtab16 %[x], %[off2], %[x], ror #8\n\t"
                "sxtb16  %[wp], %[w]\n\t"
                "sxtb16  %[w], %[w], ror #8\n\t"
                "smlabb  %[s0], %[xp], %[wp], %[s0]\n\t"
                "smlatt  %[s2], %[xp], %[wp], %[s2]\n\t"
                "smlabb  %[s1], %[x], %[w], %[s1]\n\t"
                "smlatt  %[s3], %[x], %[w], %[s3]\n\t"
                "cmp     %[tp], %[tend]\n\t"
                "bne     1b\n\t"
                : [tp] "+r"(tp), [s0] "+r"(s0), [s1] "+r"(s1), [s2] "+r"(s2), [s3] "+r"(s3), [xp] "=&r"(xp),
                  [wp] "=&r"(wp), [x] "=&r"(x), [w] "=&r"(w)
                : [tend] "r"(tend), [c] "r"(c), [off2] "r"(off2)
                : "cc", "memory");
    }
    *a0 = s0;
    *a1 = s1;
    *a2 = s2;
    *a3 = s3;
#else
    for (; tp < tend; ++tp) {
        const uint32_t x = nn_ld32(tp->x + c);
        const uint32_t w = nn_ld32(tp->w + c);
        const uint32_t xe = nn_sxtab16(off2, x), xo = nn_sxtab16_ror8(off2, x);
        const uint32_t we = nn_sxtb16(w), wo = nn_sxtb16_ror8(w);
        *a0 = nn_smlabb(xe, we, *a0);
        *a2 = nn_smlatt(xe, we, *a2);
        *a1 = nn_smlabb(xo, wo, *a1);
        *a3 = nn_smlatt(xo, wo, *a3);
    }
#endif
}

NN_ALWAYS_INLINE void nn_dw_pixel(const nn_dw_tap_t *taps, int32_t n_taps, int32_t ch, const nn_chq_t *rq,
                                  const nn_conv_params_t *p, int8_t *op, int32_t mode)
{
    const uint32_t off2 = nn_pack16(p->input_offset, p->input_offset);
    const int32_t oo = p->output_offset, lo = p->act_min, hi = p->act_max;
    int32_t c = 0;
    for (; c + 4 <= ch; c += 4) {
        /* the table's bias and requantization are for doubled sums: halve the start, double the end */
        int32_t a0 = rq[c].bias >> 1, a1 = rq[c + 1].bias >> 1, a2 = rq[c + 2].bias >> 1, a3 = rq[c + 3].bias >> 1;
        nn_dw_taps4(taps, taps + n_taps, c, off2, &a0, &a1, &a2, &a3);
        op[c] = nn_chq_out(&rq[c], 2 * a0, oo, lo, hi, mode);
        op[c + 1] = nn_chq_out(&rq[c + 1], 2 * a1, oo, lo, hi, mode);
        op[c + 2] = nn_chq_out(&rq[c + 2], 2 * a2, oo, lo, hi, mode);
        op[c + 3] = nn_chq_out(&rq[c + 3], 2 * a3, oo, lo, hi, mode);
    }
    for (; c < ch; ++c) {
        int32_t acc = rq[c].bias >> 1;
        for (int32_t t = 0; t < n_taps; ++t) {
            acc += (int32_t)taps[t].w[c] * ((int32_t)taps[t].x[c] + p->input_offset);
        }
        op[c] = nn_chq_out(&rq[c], 2 * acc, oo, lo, hi, mode);
    }
}

/*
 * The 3x3, stride-1, dilation-1 case with padding left 1 and top 1 ("same") or 0 ("valid in time", the
 * streaming models), channels a multiple of 4 (DS-CNN's depthwise layers): one channel at a time, walking
 * DOWN each output column (DS-CNN-S: 25 rows, 5 columns), so that SMLAD pairs vertically adjacent taps and
 * the channel's weights stay in registers for its whole image instead of being reloaded per short row.
 *
 * Per channel, a ring of 3 input columns lives in scratch as int16 (one slot per column, the slots' words
 * interleaved: word j of slot t at ring[3j + t], so one pointer and immediate offsets reach all three).
 * Word j of a column holds (P[2j], P[2j+1]), P[i] = input row i - pad_top (the input zero point outside the
 * input). The input offset is not added to the values: the exporter's bias holds input_offset * (sum of the
 * channel's 9 weights) instead, and every padding tap holds the input zero point (-input_offset), whose
 * contribution w * (zp + offset) is 0, which is what TFLite's "skip the tap" adds. A column costs per 2 rows
 * 2 LDRSB and one PKHBT; each is built once and read by 3 output columns.
 *
 * The exporter's weights (flash) are per channel the vertical pairs V[fx] = (w[0][fx], w[1][fx]) and
 * U[fx] = (w[1][fx], w[2][fx]), as V0 U0 V1 U1 V2 U2 V0 U0 V1 U1. With L0 = (P[y], P[y+1]),
 * L1 = (P[y+2], P[y+3]) of one column:
 *     out(y)   += SMLAD(V, L0) + SMLATB(U, L1)     (w0 P[y] + w1 P[y+1] + w2 P[y+2])
 *     out(y+1) += SMLABT(V, L0) + SMLAD(U, L1)     (w0 P[y+1] + w1 P[y+2] + w2 P[y+3])
 * On the DSP target one naked-asm call does a whole channel; its step makes 4 outputs of a column (36 MACs)
 * from 5 loads and 24 multiply-accumulates, then SMMLA, SSAT (its shift an immediate) and STRB each: 45
 * instructions, no loop test (the steps are unrolled 8 deep and entered Duff-style with TBH). The ring's slots
 * rotate as the walk moves right; instead of moving data, the weight words are taken in rotated order (the
 * repeated copy: one pointer offset, one LDM). The two border columns skip their padding slot (16 of the 24
 * multiplies, 35 instructions a step) with biases the exporter corrected for the skipped taps, so no padding
 * column is ever built. DS-CNN-S: 118,752 instructions per layer (72,000 MACs: 0.61 per instruction).
 *
 * Requantization: the exporter scales a channel's weights and bias by 2^(k+1) so that its right shift becomes
 * one of the fixed SH of the asm copies (7, 13, 19; k = SH - shift in 1..6) and its rounding constant absorbs
 * the rest (edgekws.export.kernels.simd_dw3_table proves it exact): out = SSAT8(SMMLA(acc, m, rd) >> SH), 3
 * instructions and a store per output. Channels outside that (other shifts, an activation clamp the SSAT does
 * not do) take the C column walk with the general requantization.
 */
#define NN_DW3_SH_CODE 64 /* table rows with rsh = NN_DW3_SH_CODE + SH: the scaled SMMLA + SSAT asr #SH form */

/* SMMLA: acc + the high word of a * b, truncated (floor). */
NN_ALWAYS_INLINE int32_t nn_smmla(int32_t a, int32_t b, int32_t acc)
{
#if NN_DSP_ACLE
    int32_t r;
    __asm__("smmla %[r], %[a], %[b], %[acc]" : [r] "=r"(r) : [a] "r"(a), [b] "r"(b), [acc] "r"(acc));
    return r;
#else
    return (int32_t)(((int64_t)((uint64_t)(uint32_t)acc << 32) + (int64_t)a * b) >> 32);
#endif
}

/* The walk's per-layer and per-channel values (the asm reads them at these offsets: the order matters). */
typedef struct {
    nn_chq_t q;             /* 0: the channel's table row: bias, mult, rnd, rsh */
    int32_t rb, rb3;        /* 16, 20: bytes from one row to the next (w * ch), input and output, and 3 times that */
    const uint32_t *qend;   /* 24: ring + 6 * (out_h / 4): where the 4-output steps of a 3-slot column end */
    int32_t qidx;           /* 28: the first of the 8 unrolled steps to run (8: none) */
    int32_t rem;            /* 32: out_h % 4 outputs after them */
    int32_t bias_b;         /* 36: the asm's: the border column's bias */
    const uint32_t *qend_b; /* 40: the asm's: where the border column's steps end */
    int32_t nq24;           /* 44: 24 * (out_h / 4) */
    const uint32_t *vu;     /* 48: the channel's 12 weight words */
    int32_t rot0;           /* 52: the ring slot of input column -1 (padding, never read by the asm) */
    int32_t w, ch;          /* 56, 60 */
    int8_t *o;              /* 64: the channel's output at (0, 0) */
    const int8_t *src;      /* 68: its input at (0, 0) */
    uint32_t *ring;         /* 72 */
    uint32_t zp2;           /* 76: the input zero point in both halves */
    int32_t first;          /* 80: pad_top 1: word 0 is (zero point, row 0) */
    int32_t odd;            /* 84: an odd number of words of two input rows: one before the 4-row steps */
    int32_t span;           /* 88: bytes of input the builder's 4-row steps cover */
    int32_t bidx;           /* 92: the first of its 8 unrolled 4-row steps to run (8: none) */
    int32_t last;           /* 96: a last word (row h - 1, zero point) */
    uint32_t *ring_l;       /* 100: the first of the left border column's 2 slots (input columns 0, 1) */
    uint32_t *ring_r;       /* 104: the first of the right border column's 2 slots (input columns w - 2, w - 1) */
    int8_t *o_r;            /* 108: the channel's output at (0, w - 1) */
    uint32_t *slot0, *slot1, *slot2; /* 112, 116, 120: the slots of input columns 0, 1, 2 */
    const void *cols, *cols_end;     /* 124, 128: the columns between the borders (nn_dw3_col_t) */
    int32_t pairs;          /* 132: words of two input rows (the C builder's) */
    int32_t nw;             /* 136: words per slot */
} nn_dw3_k_t;

/* Column `src` (the channel's byte in row 0; NULL: a padding column) into the ring slot starting at d.
 * Words past the column's last row keep the zero point written when the ring was cleared. */
static void nn_dw3_col(uint32_t *d, const int8_t *src, const nn_dw3_k_t *k)
{
    const uint32_t zp2 = k->zp2;
    if (!src) {
        for (int32_t j = 0; j < k->nw; ++j) {
            d[3 * j] = zp2;
        }
        return;
    }
    const int32_t rb = k->rb;
    if (k->first) {
        *d = nn_pkhbt(zp2, (uint32_t)(int32_t)src[0], 16); /* (zero point, row 0) */
        d += 3;
        src += rb;
    }
    for (int32_t j = 0; j < k->pairs; ++j, d += 3, src += 2 * rb) {
        *d = nn_pkhbt((uint32_t)(int32_t)src[0], (uint32_t)(int32_t)src[rb], 16);
    }
    if (k->last) {
        *d = nn_pkhbt((uint32_t)(int32_t)src[0], zp2, 0); /* (row h - 1, zero point) */
    }
}

/* One output of the C walk: the scaled SMMLA rows, else nn_chq_out (doubled accumulator). */
NN_ALWAYS_INLINE int8_t nn_dw3_out(const nn_chq_t *c, int32_t acc, int32_t oo, int32_t lo, int32_t hi, int32_t mode)
{
    if (c->rsh >= NN_DW3_SH_CODE) {
        return (int8_t)nn_act_clamp(nn_smmla(acc, c->mult, c->rnd) >> (c->rsh - NN_DW3_SH_CODE), lo, hi, mode);
    }
    return nn_chq_out(c, acc, oo, lo, hi, mode);
}

/* One output column from the ring: vu holds (V, U) per slot in slot order; o: the column's top output. */
static void nn_dw3_col_out(const uint32_t *ring, const uint32_t *vu, const nn_dw3_k_t *k, int32_t h,
                           const nn_chq_t *c, int8_t *o, int32_t oo, int32_t lo, int32_t hi, int32_t mode)
{
    for (int32_t y = 0; y < h; y += 2, ring += 3, o += 2 * k->rb) {
        int32_t s0 = c->bias, s1 = c->bias;
        for (int32_t t = 0; t < 3; ++t) {
            const uint32_t l0 = ring[t], l1 = ring[3 + t];
            s0 = nn_smlad(vu[2 * t], l0, s0);
            s0 = nn_smlatb(vu[2 * t + 1], l1, s0);
            s1 = nn_smlabt(vu[2 * t], l0, s1);
            s1 = nn_smlad(vu[2 * t + 1], l1, s1);
        }
        o[0] = nn_dw3_out(c, s0, oo, lo, hi, mode);
        if (y + 1 < h) {
            o[k->rb] = nn_dw3_out(c, s1, oo, lo, hi, mode);
        }
    }
}

#if NN_DSP_ACLE
/* r0..r3: 4 accumulators, r4..r9: V, U of slots 0, 1, 2, r10/r11: loads, r12: ring word row, lr: output;
 * [sp]: bias, [sp, #4]: mult, rnd, [sp, #16]: rb, 3 rb. Four rows' stores from one pointer: [lr], [lr, rb],
 * [lr, rb, lsl #1], [lr, 3 rb]. */
#define NN_DW3_STORE4(SH)                                                   \
    "ldrd   r10, r11, [sp, #4]\n\t"                                         \
    "smmla  r0, r0, r10, r11\n\t"                                           \
    "smmla  r1, r1, r10, r11\n\t"                                           \
    "smmla  r2, r2, r10, r11\n\t"                                           \
    "smmla  r3, r3, r10, r11\n\t"                                           \
    "ldrd   r10, r11, [sp, #16]\n\t"                                        \
    "ssat   r0, #8, r0, asr #" SH "\n\t"                                    \
    "ssat   r1, #8, r1, asr #" SH "\n\t"                                    \
    "ssat   r2, #8, r2, asr #" SH "\n\t"                                    \
    "ssat   r3, #8, r3, asr #" SH "\n\t"                                    \
    "strb   r0, [lr]\n\t"                                                   \
    "strb   r1, [lr, r10]\n\t"                                              \
    "strb   r2, [lr, r10, lsl #1]\n\t"                                      \
    "strb   r3, [lr, r11]\n\t"                                              \
    "add    lr, lr, r10, lsl #2\n\t"

#define NN_DW3_STORE2(SH)                                                   \
    "ldrd   r10, r11, [sp, #4]\n\t"                                         \
    "smmla  r0, r0, r10, r11\n\t"                                           \
    "smmla  r1, r1, r10, r11\n\t"                                           \
    "ldr    r10, [sp, #16]\n\t"                                             \
    "ssat   r0, #8, r0, asr #" SH "\n\t"                                    \
    "ssat   r1, #8, r1, asr #" SH "\n\t"                                    \
    "strb   r0, [lr]\n\t"                                                   \
    "strb   r1, [lr, r10]\n\t"                                              \
    "add    lr, lr, r10, lsl #1\n\t"

#define NN_DW3_STORE1(SH)                                                   \
    "ldrd   r10, r11, [sp, #4]\n\t"                                         \
    "smmla  r0, r0, r10, r11\n\t"                                           \
    "ssat   r0, #8, r0, asr #" SH "\n\t"                                    \
    "strb   r0, [lr]\n\t"

#define NN_DW3_QUAD(SH)                                                     \
    "ldr    r0, [sp]\n\t"                                                   \
    "ldrd   r10, r11, [r12, #12]\n\t" /* L1 of slots 0, 1 */                \
    "smlad  r2, r4, r10, r0\n\t"                                            \
    "smlabt r3, r4, r10, r0\n\t"                                            \
    "smlad  r1, r5, r10, r0\n\t"                                            \
    "smlatb r0, r5, r10, r0\n\t"                                            \
    "smlad  r2, r6, r11, r2\n\t"                                            \
    "smlabt r3, r6, r11, r3\n\t"                                            \
    "smlad  r1, r7, r11, r1\n\t"                                            \
    "smlatb r0, r7, r11, r0\n\t"                                            \
    "ldrd   r10, r11, [r12, #20]\n\t" /* L1 of slot 2, L2 of slot 0 */      \
    "smlad  r2, r8, r10, r2\n\t"                                            \
    "smlabt r3, r8, r10, r3\n\t"                                            \
    "smlad  r1, r9, r10, r1\n\t"                                            \
    "smlatb r0, r9, r10, r0\n\t"                                            \
    "smlatb r2, r5, r11, r2\n\t"                                            \
    "smlad  r3, r5, r11, r3\n\t"                                            \
    "ldrd   r10, r11, [r12, #28]\n\t" /* L2 of slots 1, 2 */                \
    "smlatb r2, r7, r10, r2\n\t"                                            \
    "smlad  r3, r7, r10, r3\n\t"                                            \
    "smlatb r2, r9, r11, r2\n\t"                                            \
    "smlad  r3, r9, r11, r3\n\t"                                            \
    "ldrd   r10, r11, [r12], #24\n\t" /* L0 of slots 0, 1; next 4 rows */  \
    "smlad  r0, r4, r10, r0\n\t"                                            \
    "smlabt r1, r4, r10, r1\n\t"                                            \
    "smlad  r0, r6, r11, r0\n\t"                                            \
    "smlabt r1, r6, r11, r1\n\t"                                            \
    "ldr    r10, [r12, #-16]\n\t" /* L0 of slot 2 */                        \
    "smlad  r0, r8, r10, r0\n\t"                                            \
    "smlabt r1, r8, r10, r1\n\t" NN_DW3_STORE4(SH)

#define NN_DW3_PAIR(SH)                                                     \
    "ldr    r0, [sp]\n\t"                                                   \
    "ldrd   r10, r11, [r12, #12]\n\t"                                       \
    "smlad  r1, r5, r10, r0\n\t"                                            \
    "smlatb r0, r5, r10, r0\n\t"                                            \
    "smlad  r1, r7, r11, r1\n\t"                                            \
    "smlatb r0, r7, r11, r0\n\t"                                            \
    "ldr    r10, [r12, #20]\n\t"                                            \
    "smlad  r1, r9, r10, r1\n\t"                                            \
    "smlatb r0, r9, r10, r0\n\t"                                            \
    "ldrd   r10, r11, [r12], #12\n\t"                                       \
    "smlad  r0, r4, r10, r0\n\t"                                            \
    "smlabt r1, r4, r10, r1\n\t"                                            \
    "smlad  r0, r6, r11, r0\n\t"                                            \
    "smlabt r1, r6, r11, r1\n\t"                                            \
    "ldr    r10, [r12, #-4]\n\t"                                            \
    "smlad  r0, r8, r10, r0\n\t"                                            \
    "smlabt r1, r8, r10, r1\n\t" NN_DW3_STORE2(SH)

#define NN_DW3_SINGLE(SH)                                                   \
    "ldr    r0, [sp]\n\t"                                                   \
    "ldrd   r10, r11, [r12]\n\t"                                            \
    "smlad  r0, r4, r10, r0\n\t"                                            \
    "smlad  r0, r6, r11, r0\n\t"                                            \
    "ldrd   r10, r11, [r12, #8]\n\t"                                        \
    "smlad  r0, r8, r10, r0\n\t"                                            \
    "smlatb r0, r5, r11, r0\n\t"                                            \
    "ldrd   r10, r11, [r12, #16]\n\t"                                       \
    "smlatb r0, r7, r10, r0\n\t"                                            \
    "smlatb r0, r9, r11, r0\n\t" NN_DW3_STORE1(SH)

/* A border column skips its padding slot: 2 slots a, b (adjacent words: one LDRD per row pair), V, U of a in
 * r4, r5 and of b in r6, r7, the bias without the skipped column's taps at [sp, #36]: 16 MACs of 24. */
#define NN_DW3_QUAD2(SH)                                                    \
    "ldr    r0, [sp, #36]\n\t"                                              \
    "ldrd   r10, r11, [r12, #12]\n\t" /* L1 of a, b */                      \
    "smlad  r2, r4, r10, r0\n\t"                                            \
    "smlabt r3, r4, r10, r0\n\t"                                            \
    "smlad  r1, r5, r10, r0\n\t"                                            \
    "smlatb r0, r5, r10, r0\n\t"                                            \
    "smlad  r2, r6, r11, r2\n\t"                                            \
    "smlabt r3, r6, r11, r3\n\t"                                            \
    "smlad  r1, r7, r11, r1\n\t"                                            \
    "smlatb r0, r7, r11, r0\n\t"                                            \
    "ldrd   r10, r11, [r12, #24]\n\t" /* L2 of a, b */                      \
    "smlatb r2, r5, r10, r2\n\t"                                            \
    "smlad  r3, r5, r10, r3\n\t"                                            \
    "smlatb r2, r7, r11, r2\n\t"                                            \
    "smlad  r3, r7, r11, r3\n\t"                                            \
    "ldrd   r10, r11, [r12], #24\n\t" /* L0 of a, b; next 4 rows */         \
    "smlad  r0, r4, r10, r0\n\t"                                            \
    "smlabt r1, r4, r10, r1\n\t"                                            \
    "smlad  r0, r6, r11, r0\n\t"                                            \
    "smlabt r1, r6, r11, r1\n\t" NN_DW3_STORE4(SH)

#define NN_DW3_PAIR2(SH)                                                    \
    "ldr    r0, [sp, #36]\n\t"                                              \
    "ldrd   r10, r11, [r12, #12]\n\t"                                       \
    "smlad  r1, r5, r10, r0\n\t"                                            \
    "smlatb r0, r5, r10, r0\n\t"                                            \
    "smlad  r1, r7, r11, r1\n\t"                                            \
    "smlatb r0, r7, r11, r0\n\t"                                            \
    "ldrd   r10, r11, [r12], #12\n\t"                                       \
    "smlad  r0, r4, r10, r0\n\t"                                            \
    "smlabt r1, r4, r10, r1\n\t"                                            \
    "smlad  r0, r6, r11, r0\n\t"                                            \
    "smlabt r1, r6, r11, r1\n\t" NN_DW3_STORE2(SH)

#define NN_DW3_SINGLE2(SH)                                                  \
    "ldr    r0, [sp, #36]\n\t"                                              \
    "ldrd   r10, r11, [r12]\n\t"                                            \
    "smlad  r0, r4, r10, r0\n\t"                                            \
    "smlad  r0, r6, r11, r0\n\t"                                            \
    "ldrd   r10, r11, [r12, #12]\n\t"                                       \
    "smlatb r0, r5, r10, r0\n\t"                                            \
    "smlatb r0, r7, r11, r0\n\t" NN_DW3_STORE1(SH)

/* A column's walk (Q: the 4-output step, P: the pair, S: the single, E: the frame word where its steps end):
 * TBH jumps into 8 unrolled steps so that out_h / 4 of them run with one loop test per 8, TBB to the rest. */
#define NN_DW3_WALK(Q, P, S, E)                                                                            \
    "ldr    r10, [sp, #28]\n\t"                                                                            \
    "tbh    [pc, r10, lsl #1]\n\t"                                                                         \
    "9:\n\t"                                                                                               \
    ".hword (10f - 9b) / 2, (11f - 9b) / 2, (12f - 9b) / 2, (13f - 9b) / 2\n\t"                            \
    ".hword (14f - 9b) / 2, (15f - 9b) / 2, (16f - 9b) / 2, (17f - 9b) / 2, (18f - 9b) / 2\n\t"            \
    ".p2align 1\n\t"                                                                                       \
    "10:\n\t" Q "11:\n\t" Q "12:\n\t" Q "13:\n\t" Q "14:\n\t" Q "15:\n\t" Q "16:\n\t" Q "17:\n\t" Q        \
    "ldr    r10, [sp, #" E "]\n\t"                                                                         \
    "cmp    r12, r10\n\t"                                                                                  \
    "bne    10b\n\t"                                                                                       \
    "18:\n\t"                                                                                              \
    "ldr    r10, [sp, #32]\n\t"                                                                            \
    "tbb    [pc, r10]\n\t"                                                                                 \
    "19:\n\t"                                                                                              \
    ".byte (22f - 19b) / 2, (21f - 19b) / 2, (23f - 19b) / 2, (20f - 19b) / 2\n\t"                         \
    ".p2align 1\n\t"                                                                                       \
    "20:\n\t" P "21:\n\t" S "b      22f\n\t"                                                               \
    "23:\n\t" P "22:\n\t"

/*
 * A whole channel in one asm call (k in r0; the image at least 2 columns wide): the ring's first two input
 * columns are built; the left border column (slots of input columns 0, 1; weights fx 1, 2) and the right one
 * (input columns w - 2, w - 1; fx 0, 1) are walked by the subroutine at 60, which skips the padding slot; the
 * columns between them by the 3-slot walk, each from a row of the layer's column table (its weights' rotation,
 * the input column to build after it and where, its output offset: no per-column arithmetic here); every
 * input column is built once into the slot just freed (the subroutine at 50). No padding column is ever
 * written. Frame: k's first 12 words copied to [sp] (what the steps read), then k, the table row, the column
 * to build, the 2-slot walk's return address.
 */
#define NN_ARG __attribute__((unused)) /* a naked function's arguments are read by its asm, in r0..r3 */
_Static_assert(offsetof(nn_dw3_k_t, rb) == 16 && offsetof(nn_dw3_k_t, nq24) == 44 &&
                   offsetof(nn_dw3_k_t, vu) == 48 && offsetof(nn_dw3_k_t, ring) == 72 &&
                   offsetof(nn_dw3_k_t, last) == 96 && offsetof(nn_dw3_k_t, o_r) == 108 &&
                   offsetof(nn_dw3_k_t, cols_end) == 128,
               "nn_dw3_chan offsets");
#define NN_DW3_BUILD_STEP                                                   \
    "ldrsb  r7, [r1]\n\t"                                                   \
    "ldrsb  r10, [r1, r5]\n\t"                                              \
    "ldrsb  r11, [r1, r5, lsl #1]\n\t"                                      \
    "ldrsb  r12, [r1, r8]\n\t"                                              \
    "add    r1, r1, r5, lsl #2\n\t"                                         \
    "pkhbt  r7, r7, r10, lsl #16\n\t"                                       \
    "pkhbt  r11, r11, r12, lsl #16\n\t"                                     \
    "str    r7, [r3], #24\n\t"                                              \
    "str    r11, [r3, #-12]\n\t"
#define NN_DW3_CHAN(NAME, SH)                                                                              \
    __attribute__((naked, noinline)) static void NAME(NN_ARG const nn_dw3_k_t *k)                          \
    {                                                                                                      \
        __asm__ volatile(                                                                                  \
            "push   {r4-r11, lr}\n\t"                                                                      \
            "sub    sp, sp, #24\n\t"                                                                       \
            "str    r0, [sp]\n\t"                                                                          \
            "ldm    r0, {r1-r12}\n\t"                                                                      \
            "push   {r1-r12}\n\t" /* [sp]: k's words 0..11; #48 k, #52 row, #56 build src, #60 slot, #64 ret */ \
            "ldr    r1, [r0, #68]\n\t"                                                                     \
            "ldr    r3, [r0, #112]\n\t"                                                                    \
            "bl     50f\n\t" /* input column 0 */                                                          \
            "ldr    r0, [sp, #48]\n\t"                                                                     \
            "ldr    r1, [r0, #68]\n\t"                                                                     \
            "ldr    r2, [r0, #60]\n\t"                                                                     \
            "add    r1, r1, r2\n\t"                                                                        \
            "ldr    r3, [r0, #116]\n\t"                                                                    \
            "bl     50f\n\t" /* input column 1 */                                                          \
            "ldr    r0, [sp, #48]\n\t" /* the left border column: fx 1, 2 */                               \
            "ldr    r1, [r0, #48]\n\t"                                                                     \
            "ldr    r2, [r1, #40]\n\t"                                                                     \
            "str    r2, [sp, #36]\n\t"                                                                     \
            "adds   r1, r1, #8\n\t"                                                                        \
            "ldr    r12, [r0, #100]\n\t"                                                                   \
            "ldr    r3, [r0, #64]\n\t"                                                                     \
            "bl     60f\n\t"                                                                               \
            "ldr    r0, [sp, #48]\n\t"                                                                     \
            "ldr    r3, [r0, #56]\n\t"                                                                     \
            "cmp    r3, #2\n\t"                                                                            \
            "ble    40f\n\t"                                                                               \
            "ldr    r1, [r0, #68]\n\t"                                                                     \
            "ldr    r2, [r0, #60]\n\t"                                                                     \
            "add    r1, r1, r2, lsl #1\n\t"                                                                \
            "ldr    r3, [r0, #120]\n\t"                                                                    \
            "bl     50f\n\t" /* input column 2 */                                                          \
            "ldr    r0, [sp, #48]\n\t"                                                                     \
            "ldr    r12, [r0, #124]\n\t"                                                                   \
            "30:\n\t" /* a column between the borders: slot t holds fx = (t - rot) mod 3 */                \
            "ldm    r12!, {r1, r2, r3, r11}\n\t" /* weight offset, build src offset (0: none), slot, out */ \
            "str    r12, [sp, #52]\n\t"                                                                    \
            "strd   r2, r3, [sp, #56]\n\t"                                                                 \
            "ldr    r10, [r0, #48]\n\t"                                                                    \
            "add    r1, r1, r10\n\t"                                                                       \
            "ldm    r1, {r4-r9}\n\t"                                                                       \
            "ldr    lr, [r0, #64]\n\t"                                                                     \
            "add    lr, lr, r11\n\t"                                                                       \
            "ldr    r12, [r0, #72]\n\t"                                                                    \
            NN_DW3_WALK(NN_DW3_QUAD(SH), NN_DW3_PAIR(SH), NN_DW3_SINGLE(SH), "24")                         \
            "ldrd   r1, r3, [sp, #56]\n\t"                                                                 \
            "ldr    r0, [sp, #48]\n\t"                                                                     \
            "cbz    r1, 31f\n\t"                                                                           \
            "ldr    r2, [r0, #68]\n\t"                                                                     \
            "add    r1, r1, r2\n\t"                                                                        \
            "bl     50f\n\t" /* input column ox + 2 into the slot of ox - 1 */                             \
            "ldr    r0, [sp, #48]\n\t"                                                                     \
            "31:\n\t"                                                                                      \
            "ldr    r12, [sp, #52]\n\t"                                                                    \
            "ldr    r3, [r0, #128]\n\t"                                                                    \
            "cmp    r12, r3\n\t"                                                                           \
            "bne    30b\n\t"                                                                               \
            "40:\n\t" /* the right border column: fx 0, 1 */                                               \
            "ldr    r1, [r0, #48]\n\t"                                                                     \
            "ldr    r2, [r1, #44]\n\t"                                                                     \
            "str    r2, [sp, #36]\n\t"                                                                     \
            "ldr    r12, [r0, #104]\n\t"                                                                   \
            "ldr    r3, [r0, #108]\n\t"                                                                    \
            "bl     60f\n\t"                                                                               \
            "add    sp, sp, #72\n\t"                                                                       \
            "pop    {r4-r11, pc}\n\t"                                                                      \
            /* the 2-slot walk: r1 its 4 weight words, r3 the column's output, r12 its first slot */       \
            "60:\n\t"                                                                                      \
            "str    lr, [sp, #64]\n\t"                                                                     \
            "mov    lr, r3\n\t"                                                                            \
            "ldm    r1, {r4-r7}\n\t"                                                                       \
            "ldr    r10, [sp, #44]\n\t"                                                                    \
            "add    r10, r12, r10\n\t"                                                                     \
            "str    r10, [sp, #40]\n\t"                                                                    \
            NN_DW3_WALK(NN_DW3_QUAD2(SH), NN_DW3_PAIR2(SH), NN_DW3_SINGLE2(SH), "40")                      \
            "ldr    pc, [sp, #64]\n\t"                                                                     \
            /* the column builder: r0 k, r1 the column's byte in row 0, r3 its slot; 4 rows per step, the  \
             * steps unrolled 8 deep and entered with TBH like the walks */                                \
            "50:\n\t"                                                                                      \
            "ldrd   r5, r8, [r0, #16]\n\t"                                                                 \
            "ldr    r6, [r0, #80]\n\t"                                                                     \
            "cbz    r6, 53f\n\t"                                                                           \
            "ldr    r4, [r0, #76]\n\t"                                                                     \
            "ldrsb  r7, [r1]\n\t"                                                                          \
            "pkhbt  r7, r4, r7, lsl #16\n\t" /* (zero point, row 0) */                                     \
            "str    r7, [r3], #12\n\t"                                                                     \
            "add    r1, r1, r5\n\t"                                                                        \
            "53:\n\t"                                                                                      \
            "ldr    r6, [r0, #84]\n\t"                                                                     \
            "cbz    r6, 54f\n\t"                                                                           \
            "ldrsb  r7, [r1]\n\t"                                                                          \
            "ldrsb  r10, [r1, r5]\n\t"                                                                     \
            "add    r1, r1, r5, lsl #1\n\t"                                                                \
            "pkhbt  r7, r7, r10, lsl #16\n\t"                                                              \
            "str    r7, [r3], #12\n\t"                                                                     \
            "54:\n\t"                                                                                      \
            "ldrd   r6, r10, [r0, #88]\n\t"                                                                \
            "add    r6, r6, r1\n\t"                                                                        \
            "tbh    [pc, r10, lsl #1]\n\t"                                                                 \
            "70:\n\t"                                                                                      \
            ".hword (71f - 70b) / 2, (72f - 70b) / 2, (73f - 70b) / 2, (74f - 70b) / 2\n\t"                \
            ".hword (75f - 70b) / 2, (76f - 70b) / 2, (77f - 70b) / 2, (78f - 70b) / 2, (79f - 70b) / 2\n\t" \
            ".p2align 1\n\t"                                                                               \
            "71:\n\t" NN_DW3_BUILD_STEP "72:\n\t" NN_DW3_BUILD_STEP "73:\n\t" NN_DW3_BUILD_STEP            \
            "74:\n\t" NN_DW3_BUILD_STEP "75:\n\t" NN_DW3_BUILD_STEP "76:\n\t" NN_DW3_BUILD_STEP            \
            "77:\n\t" NN_DW3_BUILD_STEP "78:\n\t" NN_DW3_BUILD_STEP                                        \
            "cmp    r1, r6\n\t"                                                                            \
            "bne    71b\n\t"                                                                               \
            "79:\n\t"                                                                                      \
            "ldr    r6, [r0, #96]\n\t"                                                                     \
            "cbz    r6, 57f\n\t"                                                                           \
            "ldr    r4, [r0, #76]\n\t"                                                                     \
            "ldrsb  r7, [r1]\n\t"                                                                          \
            "pkhbt  r7, r7, r4\n\t" /* (row h - 1, zero point) */                                          \
            "str    r7, [r3]\n\t"                                                                          \
            "57:\n\t"                                                                                      \
            "bx     lr\n\t");                                                                              \
    }
NN_DW3_CHAN(nn_dw3_chan_sh7, "7")
NN_DW3_CHAN(nn_dw3_chan_sh13, "13")
NN_DW3_CHAN(nn_dw3_chan_sh19, "19")

/* One row of the layer's table of the columns between the borders (read by the asm with one LDM). */
typedef struct {
    int32_t wofs;    /* bytes into the channel's weights where its rotation's 6 words start */
    int32_t bsrc;    /* the input column to build after it: bytes from the channel's input (0: none) */
    uint32_t *slot;  /* and the ring slot it goes to */
    int32_t oofs;    /* bytes from the channel's output to the column's */
} nn_dw3_col_t;
_Static_assert(sizeof(nn_dw3_col_t) == 16, "nn_dw3_col_t is read with one LDM");
#endif

/* One channel on the C walk (the host build; on the device the channels the asm does not take): every slot
 * is read here, so the padding columns are written. */
static void nn_dw3_chan_c(const int8_t *src, const uint32_t *vu, const nn_chq_t *cq, uint32_t *ring,
                          const nn_dw3_k_t *k, int32_t out_h, int8_t *o, const nn_conv_params_t *p, int32_t mode)
{
    const int32_t w = k->w, ch = k->ch;
    /* slot `rot` holds input column ox - 1 (slot 0: the left padding), the next two (mod 3) ox and ox + 1 */
    int32_t rot = 0;
    nn_dw3_col(ring, NULL, k);
    nn_dw3_col(ring + 1, src, k);
    nn_dw3_col(ring + 2, w > 1 ? src + ch : NULL, k);
    for (int32_t ox = 0; ox < w; ++ox) {
        const uint32_t *vs = vu + (rot == 0 ? 0 : 6 - 2 * rot); /* slot t: the weights of fx = (t - rot) mod 3 */
        nn_dw3_col_out(ring, vs, k, out_h, cq, o + ox * ch, p->output_offset, p->act_min, p->act_max, mode);
        if (ox + 2 <= w) { /* input column ox + 2 (or the right padding) replaces column ox - 1 */
            nn_dw3_col(ring + rot, ox + 2 < w ? src + (ox + 2) * ch : NULL, k);
        }
        rot = rot == 2 ? 0 : rot + 1;
    }
}

/* Widest image the asm column table takes (512 bytes of stack); wider ones take the C walk. */
#define NN_DW3_MAX_W 32

/* One image (not inlined per activation mode: one column table on the stack; the asm does mode 0). */
static void nn_dw3_run(const int8_t *in, const uint32_t *vu_all, const nn_chq_t *rq, uint32_t *ring, int32_t in_h,
                       int32_t pad_top, int32_t out_h, int32_t w, int32_t ch, const nn_conv_params_t *p, int8_t *out,
                       int32_t mode)
{
    const int32_t zp = -p->input_offset;
    nn_dw3_k_t k;
    k.rb = w * ch;
    k.rb3 = 3 * k.rb;
    k.w = w;
    k.ch = ch;
    k.ring = ring;
    k.zp2 = nn_pack16(zp, zp);
    k.first = pad_top;
    k.pairs = (in_h - pad_top) >> 1;
    k.odd = k.pairs & 1;
    k.span = (k.pairs >> 1) * 4 * k.rb;
    k.bidx = (k.pairs >> 1) == 0 ? 8 : (8 - ((k.pairs >> 1) & 7)) & 7;
    k.last = (in_h - pad_top) & 1;
    k.nw = (out_h + 1) / 2 + 1;
    const int32_t nq = out_h >> 2;
    k.qend = ring + 6 * nq;
    k.nq24 = 24 * nq;
    k.qidx = nq == 0 ? 8 : (8 - (nq & 7)) & 7;
    k.rem = out_h & 3;
    for (int32_t i = 0; i < 3 * k.nw; ++i) {
        ring[i] = k.zp2; /* the words past every column's last row stay the zero point */
    }
#if NN_DSP_ACLE
    /* the asm's rotation: input column -1 in slot rot0 (0 or 2) such that both border columns' 2 slots are
     * adjacent (slots 0, 1 or 1, 2: one LDRD per row pair); input column j in slot (rot0 + 1 + j) mod 3 */
    const int32_t rot0 = w % 3 == 0 ? 2 : 0;
    k.rot0 = rot0;
    k.ring_l = ring + (rot0 == 0 ? 1 : 0);
    k.ring_r = ring + (rot0 + w - 1) % 3;
    k.slot0 = ring + (rot0 + 1) % 3;
    k.slot1 = ring + (rot0 + 2) % 3;
    k.slot2 = ring + rot0;
    nn_dw3_col_t cols[NN_DW3_MAX_W];
    const int asm_w = w >= 2 && w - 2 <= NN_DW3_MAX_W;
    for (int32_t ox = 1; asm_w && ox < w - 1; ++ox) {
        const int32_t rot = (rot0 + ox) % 3; /* slot of input column ox - 1 */
        cols[ox - 1].wofs = rot == 0 ? 0 : (3 - rot) * 8;
        cols[ox - 1].bsrc = ox + 2 < w ? (ox + 2) * ch : 0;
        cols[ox - 1].slot = ring + rot;
        cols[ox - 1].oofs = ox * ch;
    }
    k.cols = cols;
    k.cols_end = cols + (w > 2 ? w - 2 : 0);
    const int32_t oro = (w - 1) * ch;
    /* the asm copy of a table row: (rsh - NN_DW3_SH_CODE - 7) is 0, 6 or 12 for SH 7, 13, 19; >> 2: 0, 1, 3 */
    static void (*const chans[4])(const nn_dw3_k_t *) = {nn_dw3_chan_sh7, nn_dw3_chan_sh13, NULL, nn_dw3_chan_sh19};
    const int asm_on = mode == 0 && asm_w;
    k.vu = vu_all;
    k.o = out;
    k.o_r = out + oro;
    k.src = in;
#endif
    for (int32_t c = 0; c < ch; ++c) {
#if NN_DSP_ACLE
        const uint32_t sel = (uint32_t)(rq[c].rsh - (NN_DW3_SH_CODE + 7));
        if (asm_on && (sel == 0 || sel == 6 || sel == 12)) {
            k.q = rq[c];
            chans[sel >> 2](&k);
        } else
#endif
        {
            nn_dw3_chan_c(in + c, vu_all + 12 * c, &rq[c], ring, &k, out_h, out + c, p, mode);
        }
#if NN_DSP_ACLE
        k.vu += 12; /* the next channel's weights, output and input */
        ++k.o;
        ++k.o_r;
        ++k.src;
#endif
    }
}

int nn_depthwise_conv2d_s8_simd(const nn_context_t *ctx, const nn_conv_params_t *p, const nn_quant_t *q,
                                const nn_dims_t *in_dims, const int8_t *in,
                                const nn_dims_t *filter_dims, const int8_t *filter,
                                const int32_t *bias, const nn_dims_t *out_dims, int8_t *out)
{
    (void)bias; /* folded into the exporter's table (ctx->aux) */
    if (!p || !q || !in_dims || !in || !filter_dims || !filter || !out_dims || !out) {
        return NN_ERR_ARG;
    }
    const int32_t in_h = in_dims->h, in_w = in_dims->w, ch = in_dims->c;
    const int32_t f_h = filter_dims->h, f_w = filter_dims->w;
    const int32_t out_h = out_dims->h, out_w = out_dims->w;
    if (p->depth_multiplier != 1 || out_dims->c != ch || filter_dims->c != ch) {
        return NN_ERR_UNSUPPORTED;
    }
    if (f_h * f_w > NN_DEPTHWISE_SIMD_MAX_TAPS) {
        return NN_ERR_UNSUPPORTED;
    }
    const nn_chq_t *rq = ctx ? nn_chq_table(ctx, ch) : NULL;
    if (!rq) {
        return NN_ERR_ARG;
    }
    const int32_t mode = nn_act_mode(p->act_min, p->act_max);
    const int32_t pad_top = p->padding.h;
    if (f_h == 3 && f_w == 3 && p->stride.h == 1 && p->stride.w == 1 && p->dilation.h == 1 && p->dilation.w == 1 &&
        p->padding.w == 1 && (pad_top == 0 || pad_top == 1) && (ch & 3) == 0 && out_w == in_w &&
        out_h == in_h - 2 + 2 * pad_top && out_h >= 1) {
        if (!ctx->scratch || ((uintptr_t)ctx->scratch & 3u) != 0 ||
            ctx->scratch_size < NN_DEPTHWISE_S8_SIMD_SCRATCH_3X3(out_h) || ((uintptr_t)filter & 3u) != 0) {
            return NN_ERR_ARG;
        }
        const uint32_t *vu = (const uint32_t *)(const void *)filter;
        uint32_t *ring = (uint32_t *)ctx->scratch;
        for (int32_t b = 0; b < in_dims->n; ++b) {
            const int8_t *ib = in + b * in_h * in_w * ch;
            int8_t *ob = out + b * out_h * out_w * ch;
            nn_dw3_run(ib, vu, rq, ring, in_h, pad_top, out_h, in_w, ch, p, ob, mode);
        }
        return NN_OK;
    }
    nn_dw_tap_t taps[NN_DEPTHWISE_SIMD_MAX_TAPS];
    for (int32_t b = 0; b < in_dims->n; ++b) {
        for (int32_t oy = 0; oy < out_h; ++oy) {
            const int32_t iy0 = oy * p->stride.h - p->padding.h;
            for (int32_t ox = 0; ox < out_w; ++ox) {
                const int32_t ix0 = ox * p->stride.w - p->padding.w;
                int32_t n_taps = 0;
                for (int32_t fy = 0; fy < f_h; ++fy) {
                    const int32_t iy = iy0 + p->dilation.h * fy;
                    if (iy < 0 || iy >= in_h) {
                        continue;
                    }
                    for (int32_t fx = 0; fx < f_w; ++fx) {
                        const int32_t ix = ix0 + p->dilation.w * fx;
                        if (ix < 0 || ix >= in_w) {
                            continue;
                        }
                        taps[n_taps].x = in + ((b * in_h + iy) * in_w + ix) * ch;
                        taps[n_taps].w = filter + (fy * f_w + fx) * ch;
                        ++n_taps;
                    }
                }
                int8_t *op = out + ((b * out_h + oy) * out_w + ox) * ch;
                if (mode == 0) {
                    nn_dw_pixel(taps, n_taps, ch, rq, p, op, 0);
                } else if (mode == 1) {
                    nn_dw_pixel(taps, n_taps, ch, rq, p, op, 1);
                } else {
                    nn_dw_pixel(taps, n_taps, ch, rq, p, op, 2);
                }
            }
        }
    }
    return NN_OK;
}
