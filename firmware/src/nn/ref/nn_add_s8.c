/* nn_add_s8.c - int8 elementwise add with 4-D broadcasting (TFLite: both inputs rescaled to a
 * common scale with a 20-bit left shift, summed, then requantized to the output). */
#include "edgekws/nn.h"
#include "edgekws/nn_math.h"

static int32_t nn_add_one(const nn_add_params_t *p, int32_t a, int32_t b)
{
    const int32_t sa = nn_requantize(nn_shl(a + p->input1_offset, p->left_shift), p->input1_multiplier,
                                     p->input1_shift);
    const int32_t sb = nn_requantize(nn_shl(b + p->input2_offset, p->left_shift), p->input2_multiplier,
                                     p->input2_shift);
    const int32_t r = nn_requantize(sa + sb, p->output_multiplier, p->output_shift) + p->output_offset;
    return nn_clamp(r, p->act_min, p->act_max);
}

int nn_add_s8_ref(const nn_context_t *ctx, const nn_add_params_t *p,
                  const nn_dims_t *in1_dims, const int8_t *in1,
                  const nn_dims_t *in2_dims, const int8_t *in2,
                  const nn_dims_t *out_dims, int8_t *out)
{
    (void)ctx;
    if (!p || !in1_dims || !in1 || !in2_dims || !in2 || !out_dims || !out) {
        return NN_ERR_ARG;
    }
    const int32_t d1[4] = {in1_dims->n, in1_dims->h, in1_dims->w, in1_dims->c};
    const int32_t d2[4] = {in2_dims->n, in2_dims->h, in2_dims->w, in2_dims->c};
    const int32_t o[4] = {out_dims->n, out_dims->h, out_dims->w, out_dims->c};
    int32_t s1[4], s2[4];
    int32_t st1 = 1, st2 = 1;
    for (int i = 3; i >= 0; --i) { /* broadcast dims (size 1) get stride 0 */
        if ((d1[i] != 1 && d1[i] != o[i]) || (d2[i] != 1 && d2[i] != o[i])) {
            return NN_ERR_ARG;
        }
        s1[i] = d1[i] == 1 ? 0 : st1;
        s2[i] = d2[i] == 1 ? 0 : st2;
        st1 *= d1[i];
        st2 *= d2[i];
    }
    int8_t *op = out;
    for (int32_t n = 0; n < o[0]; ++n) {
        for (int32_t y = 0; y < o[1]; ++y) {
            for (int32_t x = 0; x < o[2]; ++x) {
                for (int32_t c = 0; c < o[3]; ++c) {
                    const int32_t i1 = n * s1[0] + y * s1[1] + x * s1[2] + c * s1[3];
                    const int32_t i2 = n * s2[0] + y * s2[1] + x * s2[2] + c * s2[3];
                    *op++ = (int8_t)nn_add_one(p, in1[i1], in2[i2]);
                }
            }
        }
    }
    return NN_OK;
}
