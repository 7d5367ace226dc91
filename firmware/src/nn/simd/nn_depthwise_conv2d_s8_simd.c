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
