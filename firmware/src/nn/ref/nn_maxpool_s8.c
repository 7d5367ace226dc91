/* nn_maxpool_s8.c - int8 max pooling over the in-image part of each window (TFLite). */
#include "edgekws/nn.h"
#include "edgekws/nn_math.h"

int nn_maxpool_s8_ref(const nn_context_t *ctx, const nn_pool_params_t *p,
                      const nn_dims_t *in_dims, const int8_t *in, const nn_dims_t *out_dims, int8_t *out)
{
    (void)ctx;
    if (!p || !in_dims || !in || !out_dims || !out || in_dims->c != out_dims->c) {
        return NN_ERR_ARG;
    }
    const int32_t in_h = in_dims->h, in_w = in_dims->w, ch = in_dims->c;
    for (int32_t b = 0; b < in_dims->n; ++b) {
        for (int32_t oy = 0; oy < out_dims->h; ++oy) {
            const int32_t iy0 = oy * p->stride.h - p->padding.h;
            const int32_t fy0 = nn_max(0, -iy0), fy1 = nn_min(p->filter.h, in_h - iy0);
            for (int32_t ox = 0; ox < out_dims->w; ++ox) {
                const int32_t ix0 = ox * p->stride.w - p->padding.w;
                const int32_t fx0 = nn_max(0, -ix0), fx1 = nn_min(p->filter.w, in_w - ix0);
                for (int32_t c = 0; c < ch; ++c) {
                    int32_t mx = -128;
                    for (int32_t fy = fy0; fy < fy1; ++fy) {
                        for (int32_t fx = fx0; fx < fx1; ++fx) {
                            mx = nn_max(mx, in[((b * in_h + iy0 + fy) * in_w + ix0 + fx) * ch + c]);
                        }
                    }
                    out[((b * out_dims->h + oy) * out_dims->w + ox) * ch + c] =
                        (int8_t)nn_clamp(mx, p->act_min, p->act_max);
                }
            }
        }
    }
    return NN_OK;
}
