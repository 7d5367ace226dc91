/*
 * nn_depthwise_conv2d_s8_simd.c - int8 depthwise convolution (depth
 * multiplier 1) on the DSP extension.
 *
 * Per output pixel the valid taps are listed once (input and weight pointers),
 * so border pixels do less work and nothing is padded; then 4 channels at a
 * time: one word of 4 inputs and one of 4 weights per tap, SXTAB16 adds the
 * input offset to channels (0,2) and (1,3), SXTB16 unpacks the weights the
 * same way, and SMLABB/SMLATT accumulate each channel (depthwise sums over
 * taps, not channels, so SMLAD pairs would need a re-pack that costs what it
 * saves). Weights stay in TFLite's [f_h][f_w][C] layout.
 *
 * No scratch: the per-channel bias, multiplier and the two constants of
 * nn_requantize_r2() (output offset folded in) come from the exporter's table
 * in flash (ctx->aux, nn_chq_t), computed once at export time.
 */
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
 * multiple of 4 (DS-CNN's depthwise layers): SMLAD pairs taps, not channels.
 *
 * Per group of 4 channels, a ring of 3 input rows is kept in scratch as 4
 * int16 planes per row (one per channel, input offset added, one zero column
 * on the left and zeros past the right edge: padding taps contribute 0), so
 * that horizontally adjacent taps of one channel are one word. Each new row
 * costs per 2 pixels 2 LDR, 4 SXTAB16, 4 PKHBT/PKHTB and 4 STR for 8 values.
 * Two horizontally adjacent outputs of one channel then share one LDRD per
 * tap row: with L0 = (P[a], P[a+1]), L1 = (P[a+2], P[a+3]) and the exporter's
 * pre-widened, doubled weight pairs W01 = (w0, w1), W12 = (w1, w2) per tap row,
 *     out0 += SMLAD(W01, L0) + SMLATB(W12, L1)   (w0 P[a] + w1 P[a+1] + w2 P[a+2])
 *     out1 += SMLABT(W01, L0) + SMLAD(W12, L1)   (w0 P[a+1] + w1 P[a+2] + w2 P[a+3])
 * 4 instructions for 6 MACs; the channel's 6 weight words stay in registers
 * along the row. The accumulators are twice the sums (doubled weights and
 * bias), as the table's one-SMMLAR requantization wants.
 */
static inline int32_t nn_dw3_wp(int32_t w)
{
    return (w + 4) & ~1; /* int16 per plane row: P[0] = left pad, P[1..w] = the row, zeros up to P[w + 2] */
}

/* PKHBT a, b, LSL #16 / PKHTB a, b, ASR #16 as single instructions (GCC does not always select them). */
NN_ALWAYS_INLINE uint32_t nn_dw3_pkhbt(uint32_t a, uint32_t b)
{
#if NN_DSP_ACLE
    uint32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
#else
    return nn_pkhbt(a, b, 16);
#endif
}

NN_ALWAYS_INLINE uint32_t nn_dw3_pkhtb(uint32_t a, uint32_t b)
{
#if NN_DSP_ACLE
    uint32_t r;
    __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
#else
    return nn_pkhtb(a, b, 16);
#endif
}

/* One input row (row: its channel c, NULL outside the input: zeros) of channels c..c+3 into the ring
 * slot d0 (4 planes of wp int16). */
__attribute__((noinline)) static void nn_dw3_row(uint32_t *d0, const int8_t *row, int32_t in_w, int32_t ch,
                                                 int32_t wp, uint32_t off2)
{
    const int32_t hw = wp / 2;
    uint32_t *d1 = d0 + hw, *d2 = d1 + hw, *d3 = d2 + hw;
    if (!row) {
        for (int32_t k = 0; k < 2 * wp; k += 2) {
            d0[k] = 0;
            d0[k + 1] = 0;
            __asm__("" ::: "memory"); /* a few words: stores, not a call to memset */
        }
        return;
    }
    /* word k of each plane holds pixels (2k - 1, 2k); word 0: the left pad and pixel 0 */
    uint32_t x = nn_ld32(row);
    uint32_t e = nn_sxtab16(off2, x), od = nn_sxtab16_ror8(off2, x); /* (c0, c2), (c1, c3) */
    d0[0] = e << 16;
    d1[0] = od << 16;
    d2[0] = e & 0xFFFF0000u;
    d3[0] = od & 0xFFFF0000u;
    int32_t k = 1;
    const int8_t *pa = row + ch;
    for (; 2 * k < in_w; ++k, pa += 2 * ch) { /* pixels 2k - 1 and 2k both inside */
        const uint32_t a = nn_ld32(pa), bw = nn_ld32(pa + ch);
        const uint32_t ea = nn_sxtab16(off2, a), oa = nn_sxtab16_ror8(off2, a);
        const uint32_t eb = nn_sxtab16(off2, bw), ob = nn_sxtab16_ror8(off2, bw);
        d0[k] = nn_dw3_pkhbt(ea, eb);
        d1[k] = nn_dw3_pkhbt(oa, ob);
        d2[k] = nn_dw3_pkhtb(eb, ea);
        d3[k] = nn_dw3_pkhtb(ob, oa);
    }
    if (2 * k - 1 < in_w) { /* pixel 2k - 1 is the last one: the right pad beside it */
        x = nn_ld32(pa);
        e = nn_sxtab16(off2, x);
        od = nn_sxtab16_ror8(off2, x);
        d0[k] = e & 0xFFFFu;
        d1[k] = od & 0xFFFFu;
        d2[k] = e >> 16;
        d3[k] = od >> 16;
        ++k;
    }
    for (; k < hw; ++k) {
        d0[k] = d1[k] = d2[k] = d3[k] = 0;
        __asm__("" ::: "memory"); /* as above: no memset */
    }
}

/* One output row of one channel: p0..p2 the channel's plane rows (input rows oy-1..oy+1), w its 6 words. */
NN_ALWAYS_INLINE void nn_dw3_out_row(const int16_t *p0, const int16_t *p1, const int16_t *p2, const int16_t *w,
                                     const nn_chq_t *c, int8_t *o, int32_t out_w, int32_t ch, int32_t oo,
                                     int32_t lo, int32_t hi, int32_t mode)
{
    const uint32_t a01 = nn_ld32a(w), a12 = nn_ld32a(w + 2);
    const uint32_t b01 = nn_ld32a(w + 4), b12 = nn_ld32a(w + 6);
    const uint32_t c01 = nn_ld32a(w + 8), c12 = nn_ld32a(w + 10);
    const int32_t bias = c->bias;
    int32_t ox = 0;
    for (; ox + 2 <= out_w; ox += 2, o += 2 * ch) {
        int32_t s0 = bias, s1 = bias;
        uint32_t l0 = nn_ld32a(p0 + ox), l1 = nn_ld32a(p0 + ox + 2);
        s0 = nn_smlad(a01, l0, s0);
        s0 = nn_smlatb(a12, l1, s0);
        s1 = nn_smlabt(a01, l0, s1);
        s1 = nn_smlad(a12, l1, s1);
        l0 = nn_ld32a(p1 + ox);
        l1 = nn_ld32a(p1 + ox + 2);
        s0 = nn_smlad(b01, l0, s0);
        s0 = nn_smlatb(b12, l1, s0);
        s1 = nn_smlabt(b01, l0, s1);
        s1 = nn_smlad(b12, l1, s1);
        l0 = nn_ld32a(p2 + ox);
        l1 = nn_ld32a(p2 + ox + 2);
        s0 = nn_smlad(c01, l0, s0);
        s0 = nn_smlatb(c12, l1, s0);
        s1 = nn_smlabt(c01, l0, s1);
        s1 = nn_smlad(c12, l1, s1);
        o[0] = nn_chq_out(c, s0, oo, lo, hi, mode);
        o[ch] = nn_chq_out(c, s1, oo, lo, hi, mode);
    }
    if (ox < out_w) {
        int32_t s0 = bias;
        s0 = nn_smlad(a01, nn_ld32a(p0 + ox), s0);
        s0 = nn_smlatb(a12, nn_ld32a(p0 + ox + 2), s0);
        s0 = nn_smlad(b01, nn_ld32a(p1 + ox), s0);
        s0 = nn_smlatb(b12, nn_ld32a(p1 + ox + 2), s0);
        s0 = nn_smlad(c01, nn_ld32a(p2 + ox), s0);
        s0 = nn_smlatb(c12, nn_ld32a(p2 + ox + 2), s0);
        o[0] = nn_chq_out(c, s0, oo, lo, hi, mode);
    }
}

#if !NN_DSP_ACLE
static inline void nn_dw3_out_row_fast0(const int16_t *p0, const int16_t *p1, const int16_t *p2,
                                                           const int16_t *w, const nn_chq_t *c, int8_t *o,
                                                           int32_t out_w, int32_t ch)
{
    const uint32_t a01 = nn_ld32a(w), a12 = nn_ld32a(w + 2);
    const uint32_t b01 = nn_ld32a(w + 4), b12 = nn_ld32a(w + 6);
    const uint32_t c01 = nn_ld32a(w + 8), c12 = nn_ld32a(w + 10);
    const int32_t bias = c->bias, m = c->mult, rd = c->rnd, r = c->rsh;
    const int16_t *const end = p0 + (out_w & ~1);
    for (; p0 != end; p0 += 2, p1 += 2, p2 += 2, o += 2 * ch) {
        int32_t s0 = bias, s1 = bias;
        uint32_t l0 = nn_ld32a(p0), l1 = nn_ld32a(p0 + 2);
        s0 = nn_smlad(a01, l0, s0);
        s0 = nn_smlatb(a12, l1, s0);
        s1 = nn_smlabt(a01, l0, s1);
        s1 = nn_smlad(a12, l1, s1);
        l0 = nn_ld32a(p1);
        l1 = nn_ld32a(p1 + 2);
        s0 = nn_smlad(b01, l0, s0);
        s0 = nn_smlatb(b12, l1, s0);
        s1 = nn_smlabt(b01, l0, s1);
        s1 = nn_smlad(b12, l1, s1);
        l0 = nn_ld32a(p2);
        l1 = nn_ld32a(p2 + 2);
        s0 = nn_smlad(c01, l0, s0);
        s0 = nn_smlatb(c12, l1, s0);
        s1 = nn_smlabt(c01, l0, s1);
        s1 = nn_smlad(c12, l1, s1);
        o[0] = (int8_t)nn_ssat8(nn_smmlar(s0, m, rd) >> r);
        o[ch] = (int8_t)nn_ssat8(nn_smmlar(s1, m, rd) >> r);
    }
    if (out_w & 1) {
        int32_t s0 = bias;
        s0 = nn_smlad(a01, nn_ld32a(p0), s0);
        s0 = nn_smlatb(a12, nn_ld32a(p0 + 2), s0);
        s0 = nn_smlad(b01, nn_ld32a(p1), s0);
        s0 = nn_smlatb(b12, nn_ld32a(p1 + 2), s0);
        s0 = nn_smlad(c01, nn_ld32a(p2), s0);
        s0 = nn_smlatb(c12, nn_ld32a(p2 + 2), s0);
        o[0] = (int8_t)nn_ssat8(nn_smmlar(s0, m, rd) >> r);
    }
}
#endif

/*
 * nn_dw3_out_row for the common case (every channel on the fast requantization,
 * no clamp beyond SSAT #8). On the DSP target one asm block per channel row:
 * the 6 weight words, 2 accumulators, 2 input words and the 3 plane-row and
 * output pointers take the 14 registers; the channel's constants are re-read
 * from the stack. Per 2 outputs (18 MACs): 3 LDRD + 12 SMLAD/SMLAxy, then
 * SMMLAR, ASR, SSAT and STRB each, 33 instructions with the loop.
 */
#if NN_DSP_ACLE
#define NN_DW3_PAIR_ROW(P, W01, W12)                          \
    "ldrd   %[l0], %[l1], [%[" P "]], #4\n\t"                 \
    "smlad  %[s0], %[" W01 "], %[l0], %[s0]\n\t"              \
    "smlabt %[s1], %[" W01 "], %[l0], %[s1]\n\t"              \
    "smlatb %[s0], %[" W12 "], %[l1], %[s0]\n\t"              \
    "smlad  %[s1], %[" W12 "], %[l1], %[s1]\n\t"
#define NN_DW3_ONE_ROW(P, W01, W12)                           \
    "ldrd   %[l0], %[l1], [%[" P "]]\n\t"                     \
    "smlad  %[s0], %[" W01 "], %[l0], %[s0]\n\t"              \
    "smlatb %[s0], %[" W12 "], %[l1], %[s0]\n\t"

#endif

/*
 * The 4 channels of a group for one output row; r0..r2: the ring slots of rows
 * oy-1..oy+1 (plane j of a slot at + j * wp). On the DSP target one asm block
 * runs all 4 channel rows: per channel it loads the 6 weight words, points
 * the end of the pair loop, runs nn_dw3_row_asm's pair and single steps with
 * the channel's table row read through a pointer kept on the stack, then
 * steps the plane pointers to the next plane and the output to the next
 * channel; nothing returns to C in between.
 */
#if NN_DSP_ACLE
#define NN_DW3_RQ_PAIR                                        \
    "ldr    %[l1], %[cp]\n\t"                                 \
    "ldrd   %[l0], %[l1], [%[l1], #4]\n\t"                    \
    "smmlar %[s0], %[s0], %[l0], %[l1]\n\t"                   \
    "smmlar %[s1], %[s1], %[l0], %[l1]\n\t"                   \
    "ldr    %[l0], %[cp]\n\t"                                 \
    "ldr    %[l0], [%[l0], #12]\n\t"                          \
    "asr    %[s0], %[s0], %[l0]\n\t"                          \
    "asr    %[s1], %[s1], %[l0]\n\t"                          \
    "ssat   %[s0], #8, %[s0]\n\t"                             \
    "ssat   %[s1], #8, %[s1]\n\t"                             \
    "ldr    %[l1], %[stride]\n\t"                             \
    "strb   %[s0], [%[o]]\n\t"                                \
    "strb   %[s1], [%[o], %[l1]]\n\t"                         \
    "add    %[o], %[o], %[l1], lsl #1\n\t"

__attribute__((noinline)) static void nn_dw3_group_fast0(const int16_t *r0, const int16_t *r1, const int16_t *r2,
                                                         const int16_t *w, const nn_chq_t *c, int8_t *o,
                                                         int32_t out_w, int32_t ch, int32_t wp)
{
    const int16_t *p0 = r0, *p1 = r1, *p2 = r2;
    volatile const int16_t *wptr = w;
    volatile const nn_chq_t *cp = c;
    volatile const int16_t *end;
    const int32_t pairs = out_w >> 1;
    volatile int32_t stride = ch, odd = out_w & 1, pbytes = 4 * pairs, jc = 4;
    volatile int32_t pdelta = 2 * wp - 4 * pairs;      /* from a plane row's end of pairs to the next plane */
    volatile int32_t odelta = 1 - 2 * pairs * ch;      /* from past the row's pairs to the next channel */
    int32_t s0, s1;
    uint32_t l0, l1, a01, a12, b01, b12, c01, c12;
    __asm__ volatile(
        "0:\n\t"
        "ldr    %[l0], %[wptr]\n\t"
        "ldrd   %[a01], %[a12], [%[l0]]\n\t"
        "ldrd   %[b01], %[b12], [%[l0], #8]\n\t"
        "ldrd   %[c01], %[c12], [%[l0], #16]\n\t"
        "add    %[l0], %[l0], #24\n\t"
        "str    %[l0], %[wptr]\n\t"
        "ldr    %[l0], %[pbytes]\n\t"
        "add    %[l0], %[l0], %[p0]\n\t"
        "str    %[l0], %[end]\n\t"
        "cmp    %[p0], %[l0]\n\t"
        "beq    2f\n\t"
        "1:\n\t"
        "ldr    %[s0], %[cp]\n\t"
        "ldr    %[s0], [%[s0]]\n\t"
        "mov    %[s1], %[s0]\n\t"
        NN_DW3_PAIR_ROW("p0", "a01", "a12")
        NN_DW3_PAIR_ROW("p1", "b01", "b12")
        NN_DW3_PAIR_ROW("p2", "c01", "c12")
        NN_DW3_RQ_PAIR
        "ldr    %[l0], %[end]\n\t"
        "cmp    %[p0], %[l0]\n\t"
        "bne    1b\n\t"
        "2:\n\t"
        "ldr    %[l0], %[odd]\n\t"
        "cmp    %[l0], #0\n\t"
        "beq    3f\n\t"
        "ldr    %[s0], %[cp]\n\t"
        "ldr    %[s0], [%[s0]]\n\t"
        NN_DW3_ONE_ROW("p0", "a01", "a12")
        NN_DW3_ONE_ROW("p1", "b01", "b12")
        NN_DW3_ONE_ROW("p2", "c01", "c12")
        "ldr    %[l1], %[cp]\n\t"
        "ldrd   %[l0], %[l1], [%[l1], #4]\n\t"
        "smmlar %[s0], %[s0], %[l0], %[l1]\n\t"
        "ldr    %[l0], %[cp]\n\t"
        "ldr    %[l0], [%[l0], #12]\n\t"
        "asr    %[s0], %[s0], %[l0]\n\t"
        "ssat   %[s0], #8, %[s0]\n\t"
        "strb   %[s0], [%[o]]\n\t"
        "3:\n\t"
        "ldr    %[l0], %[pdelta]\n\t"
        "add    %[p0], %[p0], %[l0]\n\t"
        "add    %[p1], %[p1], %[l0]\n\t"
        "add    %[p2], %[p2], %[l0]\n\t"
        "ldr    %[l0], %[odelta]\n\t"
        "add    %[o], %[o], %[l0]\n\t"
        "ldr    %[l0], %[cp]\n\t"
        "add    %[l0], %[l0], #16\n\t"
        "str    %[l0], %[cp]\n\t"
        "ldr    %[l0], %[jc]\n\t"
        "subs   %[l0], %[l0], #1\n\t"
        "str    %[l0], %[jc]\n\t"
        "bne    0b\n\t"
        : [p0] "+r"(p0), [p1] "+r"(p1), [p2] "+r"(p2), [o] "+r"(o), [s0] "=&r"(s0), [s1] "=&r"(s1),
          [l0] "=&r"(l0), [l1] "=&r"(l1), [a01] "=&r"(a01), [a12] "=&r"(a12), [b01] "=&r"(b01), [b12] "=&r"(b12),
          [c01] "=&r"(c01), [c12] "=&r"(c12), [wptr] "+m"(wptr), [cp] "+m"(cp), [end] "=m"(end), [jc] "+m"(jc)
        : [stride] "m"(stride), [odd] "m"(odd), [pbytes] "m"(pbytes), [pdelta] "m"(pdelta), [odelta] "m"(odelta)
        : "cc", "memory");
}
#else
static void nn_dw3_group_fast0(const int16_t *r0, const int16_t *r1, const int16_t *r2, const int16_t *w,
                               const nn_chq_t *c, int8_t *o, int32_t out_w, int32_t ch, int32_t wp)
{
    for (int32_t j = 0; j < 4; ++j) {
        nn_dw3_out_row_fast0(r0 + j * wp, r1 + j * wp, r2 + j * wp, w + 12 * j, c + j, o + j, out_w, ch);
    }
}
#endif

NN_ALWAYS_INLINE void nn_dw3_run(const int8_t *in, const int16_t *w16, const nn_chq_t *rq, int16_t *ring,
                                 int32_t h, int32_t w, int32_t ch, const nn_conv_params_t *p, int8_t *out,
                                 int32_t mode)
{
    const uint32_t off2 = nn_pack16(p->input_offset, p->input_offset);
    const int fast0 = mode == 0 && nn_chq_all_fast(rq, ch);
    const int32_t wp = nn_dw3_wp(w);
    const int32_t slot = 4 * wp; /* int16 per ring slot */
    const int32_t row_bytes = w * ch;
    for (int32_t c = 0; c < ch; c += 4) {
        /* the ring's slots for rows oy-1, oy, oy+1, rotated after each output row */
        int16_t *r0 = ring, *r1 = ring + slot, *r2 = ring + 2 * slot;
        nn_dw3_row((uint32_t *)(void *)r0, NULL, w, ch, wp, off2);
        nn_dw3_row((uint32_t *)(void *)r1, in + c, w, ch, wp, off2);
        const int8_t *next = in + c; /* input row oy + 1 once advanced (only while it exists) */
        for (int32_t oy = 0; oy < h; ++oy) {
            int8_t *orow = out + oy * row_bytes + c;
            const int8_t *src = NULL;
            if (oy + 1 < h) {
                next += row_bytes;
                src = next;
            }
            nn_dw3_row((uint32_t *)(void *)r2, src, w, ch, wp, off2);
            if (fast0) {
                nn_dw3_group_fast0(r0, r1, r2, w16 + c * 12, &rq[c], orow, w, ch, wp);
            } else {
                for (int32_t j = 0; j < 4; ++j) {
                    nn_dw3_out_row(r0 + j * wp, r1 + j * wp, r2 + j * wp, w16 + (c + j) * 12, &rq[c + j], orow + j, w,
                                   ch, p->output_offset, p->act_min, p->act_max, mode);
                }
            }
            int16_t *t = r0;
            r0 = r1;
            r1 = r2;
            r2 = t;
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
            ctx->scratch_size < NN_DEPTHWISE_S8_SIMD_SCRATCH_3X3(in_w) || ((uintptr_t)filter & 3u) != 0) {
            return NN_ERR_ARG;
        }
        const int16_t *w16 = (const int16_t *)(const void *)filter;
        int16_t *ring = (int16_t *)ctx->scratch;
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
