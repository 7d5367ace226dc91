/*
 * nn_depthwise_conv2d_s8_simd.c - int8 depthwise convolution (depth
 * multiplier 1) on the DSP extension.
 *
 * Any shape (the 3x3 / stride 1 / padding 1 layers of DS-CNN take the
 * column-walk path further down instead): per output pixel the valid taps
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
 * The 3x3, stride-1, dilation-1, "same" (padding 1) case with channels a
 * multiple of 4 (DS-CNN's depthwise layers): one channel at a time, walking
 * DOWN each output column (DS-CNN-S: 25 rows, 5 columns), so that SMLAD pairs
 * vertically adjacent taps and the channel's weights stay in registers for its
 * whole image instead of being reloaded per short row.
 *
 * Per channel, a ring of 3 input columns lives in scratch as int16 (one slot
 * per column, the slots' words interleaved: word j of slot t at ring[3j + t],
 * so one pointer and immediate offsets reach all three). Word j of a column
 * holds (P[2j], P[2j+1]), P[i] = input row i - 1. The input offset is not added
 * to the values: the channel's bias takes input_offset * (sum of its 9
 * weights) instead, and every padding tap holds the input zero point
 * (-input_offset), whose contribution w * (zp + offset) is 0, which is what
 * TFLite's "skip the tap" adds. A column costs per 2 rows 2 LDRSB and one
 * PKHBT; each is built once and read by 3 output columns.
 *
 * The exporter's per-row weight pairs (w[fy][0], w[fy][1]), (w[fy][1], w[fy][2])
 * (doubled int16, flash) become per channel the vertical pairs
 * V[fx] = (w[0][fx], w[1][fx]) and U[fx] = (w[1][fx], w[2][fx]) with one PKHBT /
 * PKHTB each. With L0 = (P[y], P[y+1]), L1 = (P[y+2], P[y+3]) of one column:
 *     out(y)   += SMLAD(V, L0) + SMLATB(U, L1)     (w0 P[y] + w1 P[y+1] + w2 P[y+2])
 *     out(y+1) += SMLABT(V, L0) + SMLAD(U, L1)     (w0 P[y+1] + w1 P[y+2] + w2 P[y+3])
 * On the DSP target one naked-asm call does a whole channel; its step makes 4
 * outputs of a column (36 MACs) from 5 loads and 24 multiply-accumulates, then
 * SMMLAR, ASR, SSAT and STRB each (53 instructions with the loop). The
 * ring's slots rotate as the walk moves right; instead of moving data, the
 * weight words are taken in rotated order (a duplicated copy, one pointer
 * offset). The accumulators are twice the sums (doubled weights and bias), as
 * the table's one-SMMLAR requantization wants.
 */
static inline int32_t nn_dw3_hp(int32_t h)
{
    return (h + 4) & ~1; /* int16 per column: P[0] = top pad, P[1..h] = the column, zero point up to P[h + 3] */
}

/* Per-channel constants of the column walk (the asm copies them to its frame: field order matters). */
typedef struct {
    int32_t bias;         /* the table's doubled bias + input_offset * (sum of the 9 doubled weights) */
    int32_t mult, rnd;    /* the table's SMMLAR operands */
    int32_t rsh;          /* and its right shift */
    int32_t rb;           /* bytes from one image row to the next (w * ch), input and output */
    const uint32_t *qend; /* ring + 6 * (h / 4): where the 4-output steps end */
    int32_t rem;          /* h % 4 outputs after them */
    /* the rest: what nn_dw3_chan_fast0 needs to walk all of a channel's columns and build the next ones */
    const uint32_t *vu;   /* 28: the (V, U) words, 10 (nn_dw3_run) */
    int32_t rot;          /* 32: the ring slot holding input column -1 */
    int32_t w, ch;        /* 36, 40 */
    int8_t *o;            /* 44: the channel's output at (0, 0) */
    const int8_t *src;    /* 48: its input at (0, 0) */
    int32_t span, words, odd, even; /* 52..64: nn_dw3_g_t's */
    uint32_t zp2;         /* 68 */
    uint32_t *ring;       /* 72 */
} nn_dw3_k_t;

/* The column builder's per-layer constants. */
typedef struct {
    int32_t rb;     /* bytes from one input row to the next */
    int32_t span;   /* (1 + round_down(h - 1, 2)) * rb: past the last pair of rows 2j - 1, 2j */
    int32_t words;  /* words per column, hp / 2 */
    int32_t even;   /* h even: a last word (row h - 1, zero point) */
    int32_t odd;    /* (h - 1) / 2, the pairs of rows after row 0, is odd */
    uint32_t zp2;   /* the input zero point in both halves */
} nn_dw3_g_t;

/* Column `src` (the channel's byte in row 0; NULL: a padding column) into the ring slot starting at d.
 * Words past the column's last row keep the zero point written when the ring was cleared. */
static void nn_dw3_col(uint32_t *d, const int8_t *src, const nn_dw3_g_t *g)
{
    const uint32_t zp2 = g->zp2;
    if (!src) {
        uint32_t *const end = d + 3 * g->words;
        for (; d != end; d += 3) {
            d[0] = zp2;
        }
        return;
    }
    const int32_t rb = g->rb;
    d[0] = nn_pkhbt(zp2, (uint32_t)(int32_t)src[0], 16); /* (zero point, row 0) */
    const int8_t *s = src + rb;
    const int8_t *const end = src + g->span;
    d += 3;
#if NN_DSP_ACLE
    if (s != end) {
        /* 2 words (4 rows) per pass when the pair count is even, else one word first */
        const int32_t rb2 = 2 * rb;
        int32_t a, b, a2, b2;
        if (g->odd) {
            *d = nn_pkhbt((uint32_t)(int32_t)s[0], (uint32_t)(int32_t)s[rb], 16);
            d += 3;
            s += rb2;
        }
        if (s != end) {
            __asm__ volatile("1:\n\t"
                             "ldrsb  %[a], [%[s]]\n\t"
                             "ldrsb  %[b], [%[s], %[rb]]\n\t"
                             "add    %[s], %[s], %[rb2]\n\t"
                             "ldrsb  %[a2], [%[s]]\n\t"
                             "ldrsb  %[b2], [%[s], %[rb]]\n\t"
                             "add    %[s], %[s], %[rb2]\n\t"
                             "pkhbt  %[a], %[a], %[b], lsl #16\n\t"
                             "pkhbt  %[a2], %[a2], %[b2], lsl #16\n\t"
                             "str    %[a], [%[d]], #24\n\t"
                             "str    %[a2], [%[d], #-12]\n\t"
                             "cmp    %[s], %[e]\n\t"
                             "bne    1b\n\t"
                             : [s] "+r"(s), [d] "+r"(d), [a] "=&r"(a), [b] "=&r"(b), [a2] "=&r"(a2), [b2] "=&r"(b2)
                             : [rb] "r"(rb), [rb2] "r"(rb2), [e] "r"(end)
                             : "cc", "memory");
        }
    }
#else
    for (; s != end; s += 2 * rb, d += 3) {
        *d = nn_pkhbt((uint32_t)(int32_t)s[0], (uint32_t)(int32_t)s[rb], 16);
    }
#endif
    if (g->even) {
        *d = nn_pkhbt((uint32_t)(int32_t)s[0], zp2, 0); /* (row h - 1, zero point) */
    }
}

/* One output column from the ring: vu holds (V, U) per slot in slot order; o: the column's top output. */
static void nn_dw3_col_out(const uint32_t *ring, const uint32_t *vu, const nn_dw3_k_t *k, int32_t h,
                           const nn_chq_t *c, int8_t *o, int32_t oo, int32_t lo, int32_t hi, int32_t mode)
{
    for (int32_t y = 0; y < h; y += 2, ring += 3, o += 2 * k->rb) {
        int32_t s0 = k->bias, s1 = k->bias;
        for (int32_t t = 0; t < 3; ++t) {
            const uint32_t l0 = ring[t], l1 = ring[3 + t];
            s0 = nn_smlad(vu[2 * t], l0, s0);
            s0 = nn_smlatb(vu[2 * t + 1], l1, s0);
            s1 = nn_smlabt(vu[2 * t], l0, s1);
            s1 = nn_smlad(vu[2 * t + 1], l1, s1);
        }
        o[0] = nn_chq_out(c, s0, oo, lo, hi, mode);
        if (y + 1 < h) {
            o[k->rb] = nn_chq_out(c, s1, oo, lo, hi, mode);
        }
    }
}

#if NN_DSP_ACLE
/* r0..r3: 4 accumulators, r4..r9: V, U of slots 0, 1, 2, r10/r11: loads, r12: ring word row, lr: output. */
#define NN_DW3_QUAD                                                         \
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
    "smlabt r1, r8, r10, r1\n\t"                                            \
    "ldrd   r10, r11, [sp, #4]\n\t"                                         \
    "smmlar r0, r0, r10, r11\n\t"                                           \
    "smmlar r1, r1, r10, r11\n\t"                                           \
    "smmlar r2, r2, r10, r11\n\t"                                           \
    "smmlar r3, r3, r10, r11\n\t"                                           \
    "ldrd   r10, r11, [sp, #12]\n\t"                                        \
    "asr    r0, r0, r10\n\t"                                                \
    "asr    r1, r1, r10\n\t"                                                \
    "asr    r2, r2, r10\n\t"                                                \
    "asr    r3, r3, r10\n\t"                                                \
    "ssat   r0, #8, r0\n\t"                                                 \
    "ssat   r1, #8, r1\n\t"                                                 \
    "ssat   r2, #8, r2\n\t"                                                 \
    "ssat   r3, #8, r3\n\t"                                                 \
    "strb   r0, [lr]\n\t"                                                   \
    "strb   r1, [lr, r11]\n\t"                                              \
    "add    lr, lr, r11, lsl #1\n\t"                                        \
    "strb   r2, [lr]\n\t"                                                   \
    "strb   r3, [lr, r11]\n\t"                                              \
    "add    lr, lr, r11, lsl #1\n\t"

#define NN_DW3_PAIR                                                         \
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
    "smlabt r1, r8, r10, r1\n\t"                                            \
    "ldrd   r10, r11, [sp, #4]\n\t"                                         \
    "smmlar r0, r0, r10, r11\n\t"                                           \
    "smmlar r1, r1, r10, r11\n\t"                                           \
    "ldrd   r10, r11, [sp, #12]\n\t"                                        \
    "asr    r0, r0, r10\n\t"                                                \
    "asr    r1, r1, r10\n\t"                                                \
    "ssat   r0, #8, r0\n\t"                                                 \
    "ssat   r1, #8, r1\n\t"                                                 \
    "strb   r0, [lr]\n\t"                                                   \
    "strb   r1, [lr, r11]\n\t"                                              \
    "add    lr, lr, r11, lsl #1\n\t"

#define NN_DW3_SINGLE                                                       \
    "ldr    r0, [sp]\n\t"                                                   \
    "ldrd   r10, r11, [r12]\n\t"                                            \
    "smlad  r0, r4, r10, r0\n\t"                                            \
    "smlad  r0, r6, r11, r0\n\t"                                            \
    "ldrd   r10, r11, [r12, #8]\n\t"                                        \
    "smlad  r0, r8, r10, r0\n\t"                                            \
    "smlatb r0, r5, r11, r0\n\t"                                            \
    "ldrd   r10, r11, [r12, #16]\n\t"                                       \
    "smlatb r0, r7, r10, r0\n\t"                                            \
    "smlatb r0, r9, r11, r0\n\t"                                            \
    "ldrd   r10, r11, [sp, #4]\n\t"                                         \
    "smmlar r0, r0, r10, r11\n\t"                                           \
    "ldr    r10, [sp, #12]\n\t"                                             \
    "asr    r0, r0, r10\n\t"                                                \
    "ssat   r0, #8, r0\n\t"                                                 \
    "strb   r0, [lr]\n\t"

/*
 * A whole channel on the fast requantization with no clamp beyond SSAT #8, in one asm call (k, r0): per
 * output column the 6 weight words of the ring's rotation come with one LDM, the column is walked 4
 * outputs at a time, then the h % 4 rest, and the input column two to the right (or the right padding)
 * is built into the slot just freed (nn_dw3_col's loop, 2 words per pass); k's first 7 words are copied to
 * the frame the walk reads, the column loop's state sits above them.
 */
#define NN_ARG __attribute__((unused)) /* a naked function's arguments are read by its asm, in r0..r3 */
_Static_assert(offsetof(nn_dw3_k_t, vu) == 28 && offsetof(nn_dw3_k_t, ring) == 72, "nn_dw3_chan_fast0 offsets");
__attribute__((naked, noinline)) static void nn_dw3_chan_fast0(NN_ARG const nn_dw3_k_t *k)
{
    __asm__ volatile(
        "push   {r4-r11, lr}\n\t"
        "sub    sp, sp, #16\n\t"
        "str    r0, [sp, #0]\n\t"   /* after the next push: [sp, #28] k, #32 ox, #36 o of the column, #40 rot */
        "movs   r1, #0\n\t"
        "str    r1, [sp, #4]\n\t"
        "ldr    r1, [r0, #44]\n\t"
        "str    r1, [sp, #8]\n\t"
        "ldr    r1, [r0, #32]\n\t"
        "str    r1, [sp, #12]\n\t"
        "ldm    r0, {r4-r10}\n\t"
        "push   {r4-r10}\n\t"       /* [sp]: bias, mult, rnd, rsh, rb, qend, rem */
        "30:\n\t"
        "ldr    r0, [sp, #28]\n\t"
        "ldr    r1, [r0, #28]\n\t"
        "ldr    r2, [sp, #40]\n\t"
        "cmp    r2, #0\n\t"
        "ite    eq\n\t"
        "moveq  r3, #0\n\t"
        "rsbne  r3, r2, #3\n\t"
        "add    r1, r1, r3, lsl #3\n\t" /* slot t: the weights of fx = (t - rot) mod 3 */
        "ldr    r12, [r0, #72]\n\t"
        "ldm    r1, {r4-r9}\n\t"
        "ldr    lr, [sp, #36]\n\t"
        "ldr    r10, [sp, #20]\n\t"
        "cmp    r12, r10\n\t"
        "beq    2f\n\t"
        "1:\n\t" NN_DW3_QUAD
        "ldr    r10, [sp, #20]\n\t"
        "cmp    r12, r10\n\t"
        "bne    1b\n\t"
        "2:\n\t"
        "ldr    r10, [sp, #24]\n\t"
        "cmp    r10, #2\n\t"
        "blt    3f\n\t" NN_DW3_PAIR
        "ldr    r10, [sp, #24]\n\t"
        "cmp    r10, #3\n\t"
        "bne    4f\n\t" NN_DW3_SINGLE
        "b      4f\n\t"
        "3:\n\t"
        "cmp    r10, #1\n\t"
        "bne    4f\n\t" NN_DW3_SINGLE
        "4:\n\t"
        "ldr    r0, [sp, #28]\n\t"  /* input column ox + 2 (or the right padding) replaces column ox - 1 */
        "ldr    r1, [sp, #32]\n\t"
        "ldr    r2, [r0, #36]\n\t"
        "add    r3, r1, #2\n\t"
        "cmp    r3, r2\n\t"
        "bgt    20f\n\t"
        "ldr    r4, [sp, #40]\n\t"
        "ldr    r5, [r0, #72]\n\t"
        "add    r5, r5, r4, lsl #2\n\t"
        "ldr    r6, [r0, #68]\n\t"
        "blt    10f\n\t"
        "ldr    r7, [r0, #56]\n\t"
        "11:\n\t"
        "str    r6, [r5], #12\n\t"
        "subs   r7, r7, #1\n\t"
        "bne    11b\n\t"
        "b      20f\n\t"
        "10:\n\t"
        "ldr    r7, [r0, #40]\n\t"
        "ldr    r8, [r0, #48]\n\t"
        "mla    r8, r3, r7, r8\n\t"
        "ldr    r9, [r0, #16]\n\t"
        "ldr    r10, [r0, #52]\n\t"
        "add    r10, r10, r8\n\t"
        "ldrsb  r11, [r8]\n\t"
        "pkhbt  r11, r6, r11, lsl #16\n\t"
        "str    r11, [r5], #12\n\t"
        "add    r8, r8, r9\n\t"
        "ldr    r11, [r0, #60]\n\t"
        "cmp    r11, #0\n\t"
        "beq    12f\n\t"
        "ldrsb  r11, [r8]\n\t"
        "ldrsb  r12, [r8, r9]\n\t"
        "add    r8, r8, r9, lsl #1\n\t"
        "pkhbt  r11, r11, r12, lsl #16\n\t"
        "str    r11, [r5], #12\n\t"
        "12:\n\t"
        "cmp    r8, r10\n\t"
        "beq    13f\n\t"
        "14:\n\t"
        "ldrsb  r11, [r8]\n\t"
        "ldrsb  r12, [r8, r9]\n\t"
        "add    r8, r8, r9, lsl #1\n\t"
        "ldrsb  r1, [r8]\n\t"
        "ldrsb  r2, [r8, r9]\n\t"
        "add    r8, r8, r9, lsl #1\n\t"
        "pkhbt  r11, r11, r12, lsl #16\n\t"
        "pkhbt  r1, r1, r2, lsl #16\n\t"
        "str    r11, [r5], #24\n\t"
        "str    r1, [r5, #-12]\n\t"
        "cmp    r8, r10\n\t"
        "bne    14b\n\t"
        "13:\n\t"
        "ldr    r11, [r0, #64]\n\t"
        "cmp    r11, #0\n\t"
        "beq    20f\n\t"
        "ldrsb  r11, [r8]\n\t"
        "pkhbt  r11, r11, r6\n\t"
        "str    r11, [r5]\n\t"
        "20:\n\t"
        "ldr    r1, [sp, #32]\n\t"
        "add    r1, r1, #1\n\t"
        "str    r1, [sp, #32]\n\t"
        "ldr    r3, [sp, #36]\n\t"
        "ldr    r2, [r0, #40]\n\t"
        "add    r3, r3, r2\n\t"
        "str    r3, [sp, #36]\n\t"
        "ldr    r2, [sp, #40]\n\t"
        "add    r2, r2, #1\n\t"
        "cmp    r2, #3\n\t"
        "it     eq\n\t"
        "moveq  r2, #0\n\t"
        "str    r2, [sp, #40]\n\t"
        "ldr    r2, [r0, #36]\n\t"
        "cmp    r1, r2\n\t"
        "blt    30b\n\t"
        "add    sp, sp, #44\n\t"
        "pop    {r4-r11, pc}\n\t");
}
#endif

NN_ALWAYS_INLINE void nn_dw3_run(const int8_t *in, const int16_t *w16, const nn_chq_t *rq, uint32_t *ring,
                                 int32_t h, int32_t w, int32_t ch, const nn_conv_params_t *p, int8_t *out,
                                 int32_t mode)
{
    const int32_t hp = nn_dw3_hp(h);
    const int32_t zp = -p->input_offset;
    nn_dw3_g_t g;
    g.rb = w * ch;
    g.span = (1 + ((h - 1) & ~1)) * g.rb;
    g.words = hp / 2;
    g.even = (h & 1) == 0;
    g.odd = ((h - 1) >> 1) & 1;
    g.zp2 = nn_pack16(zp, zp);
    nn_dw3_k_t k;
    k.rb = g.rb;
    k.w = w;
    k.ch = ch;
    k.span = g.span;
    k.words = g.words;
    k.odd = g.odd;
    k.even = g.even;
    k.zp2 = g.zp2;
    k.ring = ring;
    k.qend = ring + 6 * (h >> 2);
    k.rem = h & 3;
    for (int32_t i = 0; i < 3 * hp / 2; ++i) {
        ring[i] = g.zp2; /* the words past every column's last row stay the zero point */
    }
    int32_t pad = 0; /* a ring slot that holds a padding column (the next channel's column -1): no rewrite */
    for (int32_t c = 0; c < ch; ++c) {
        const nn_chq_t *cq = &rq[c];
        const uint32_t *wa = (const uint32_t *)(const void *)(w16 + 12 * c);
        const uint32_t a0 = wa[0], b0 = wa[1], a1 = wa[2], b1 = wa[3], a2 = wa[4], b2 = wa[5];
        uint32_t vu[10]; /* (V, U) of fx 0, 1, 2, then fx 0, 1 again: any rotation is 6 consecutive words */
        vu[0] = nn_pkhbt(a0, a1, 16); /* (w00, w10) */
        vu[1] = nn_pkhbt(a1, a2, 16); /* (w10, w20) */
        vu[2] = nn_pkhtb(a1, a0, 16); /* (w01, w11) */
        vu[3] = nn_pkhtb(a2, a1, 16); /* (w11, w21) */
        vu[4] = nn_pkhtb(b1, b0, 16); /* (w02, w12) */
        vu[5] = nn_pkhtb(b2, b1, 16); /* (w12, w22) */
        vu[6] = vu[0];
        vu[7] = vu[1];
        vu[8] = vu[2];
        vu[9] = vu[3];
        const int32_t wsum = nn_lo16(a0) + nn_hi16(a0) + nn_hi16(b0) + nn_lo16(a1) + nn_hi16(a1) + nn_hi16(b1) +
                             nn_lo16(a2) + nn_hi16(a2) + nn_hi16(b2);
        k.bias = cq->bias + p->input_offset * wsum;
        k.mult = cq->mult;
        k.rnd = cq->rnd;
        k.rsh = cq->rsh;
        const int fast0 = mode == 0 && cq->rsh >= 0;
        (void)fast0; /* the host build has no asm path */
        const int8_t *src = in + c;
        /* slot `rot` holds input column ox - 1, the next two slots (mod 3) columns ox and ox + 1 */
        int32_t rot = pad;
        nn_dw3_col(ring + (rot == 2 ? 0 : rot + 1), src, &g);
        nn_dw3_col(ring + (rot == 0 ? 2 : rot - 1), w > 1 ? src + ch : NULL, &g);
        if (w > 1) { /* the last build puts the right padding into slot (rot + w - 2) mod 3 */
            pad = (rot + w - 2) % 3;
        }
#if NN_DSP_ACLE
        if (fast0) {
            k.vu = vu;
            k.rot = rot;
            k.o = out + c;
            k.src = src;
            nn_dw3_chan_fast0(&k);
            continue;
        }
#endif
        for (int32_t ox = 0; ox < w; ++ox) {
            const uint32_t *vs = vu + (rot == 0 ? 0 : 6 - 2 * rot); /* slot t: the weights of fx = (t - rot) mod 3 */
            nn_dw3_col_out(ring, vs, &k, h, cq, out + ox * ch + c, p->output_offset, p->act_min, p->act_max, mode);
            if (ox + 2 <= w) { /* input column ox + 2 (or the right padding) replaces column ox - 1 */
                nn_dw3_col(ring + rot, ox + 2 < w ? src + (ox + 2) * ch : NULL, &g);
            }
            rot = rot == 2 ? 0 : rot + 1;
        }
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
    if (f_h == 3 && f_w == 3 && p->stride.h == 1 && p->stride.w == 1 && p->dilation.h == 1 && p->dilation.w == 1 &&
        p->padding.h == 1 && p->padding.w == 1 && (ch & 3) == 0 && out_h == in_h && out_w == in_w) {
        if (!ctx->scratch || ((uintptr_t)ctx->scratch & 3u) != 0 ||
            ctx->scratch_size < NN_DEPTHWISE_S8_SIMD_SCRATCH_3X3(in_h) || ((uintptr_t)filter & 3u) != 0) {
            return NN_ERR_ARG;
        }
        const int16_t *w16 = (const int16_t *)(const void *)filter;
        uint32_t *ring = (uint32_t *)ctx->scratch;
        for (int32_t b = 0; b < in_dims->n; ++b) {
            const int8_t *ib = in + b * in_h * in_w * ch;
            int8_t *ob = out + b * in_h * in_w * ch;
            if (mode == 0) {
                nn_dw3_run(ib, w16, rq, ring, in_h, in_w, ch, p, ob, 0);
            } else if (mode == 1) {
                nn_dw3_run(ib, w16, rq, ring, in_h, in_w, ch, p, ob, 1);
            } else {
                nn_dw3_run(ib, w16, rq, ring, in_h, in_w, ch, p, ob, 2);
            }
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
