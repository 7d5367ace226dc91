/*
 * nn_conv2d_s8_skipzero.c - int8 2-D convolution that tests every weight and
 * skips the zeros: the naive sparse baseline of the study (ref's loop order
 * and TFLite weight layout, plus one compare and branch per weight). It shows
 * why unstructured sparsity alone does not speed up an MCU: the test costs
 * about what the skipped MAC would have.
 */
#include "edgekws/nn_sparse.h"
#include "edgekws/nn_math.h"

int nn_conv2d_s8_skipzero(const nn_context_t *ctx, const nn_conv_params_t *p, const nn_quant_t *q,
                          const nn_dims_t *in_dims, const int8_t *in,
                          const nn_dims_t *filter_dims, const int8_t *filter,
                          const int32_t *bias, const nn_dims_t *out_dims, int8_t *out)
{
    (void)ctx;
    if (!p || !q || !in_dims || !in || !filter_dims || !filter || !out_dims || !out) {
        return NN_ERR_ARG;
    }
    const int32_t in_h = in_dims->h, in_w = in_dims->w, in_c = in_dims->c;
    const int32_t f_h = filter_dims->h, f_w = filter_dims->w, f_c = filter_dims->c;
    const int32_t out_h = out_dims->h, out_w = out_dims->w, out_c = out_dims->c;
    if (f_c <= 0 || in_c % f_c != 0 || filter_dims->n != out_c || out_c % (in_c / f_c) != 0) {
        return NN_ERR_ARG;
    }
    const int32_t filters_per_group = out_c / (in_c / f_c);
    for (int32_t b = 0; b < in_dims->n; ++b) {
        for (int32_t oy = 0; oy < out_h; ++oy) {
            const int32_t iy0 = oy * p->stride.h - p->padding.h;
            for (int32_t ox = 0; ox < out_w; ++ox) {
                const int32_t ix0 = ox * p->stride.w - p->padding.w;
                for (int32_t oc = 0; oc < out_c; ++oc) {
                    const int32_t group = oc / filters_per_group;
                    int32_t acc = bias ? bias[oc] : 0;
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
                            const int8_t *ip = in + ((b * in_h + iy) * in_w + ix) * in_c + group * f_c;
                            const int8_t *fp = filter + ((oc * f_h + fy) * f_w + fx) * f_c;
                            for (int32_t ic = 0; ic < f_c; ++ic) {
                                const int32_t w = fp[ic];
                                if (w != 0) {
                                    acc += w * ((int32_t)ip[ic] + p->input_offset);
                                }
                            }
                        }
                    }
                    acc = nn_requantize(acc, q->multiplier[oc], q->shift[oc]) + p->output_offset;
                    out[((b * out_h + oy) * out_w + ox) * out_c + oc] = (int8_t)nn_clamp(acc, p->act_min, p->act_max);
                }
            }
        }
    }
    return NN_OK;
}
