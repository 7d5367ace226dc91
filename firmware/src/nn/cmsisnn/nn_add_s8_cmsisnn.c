/* nn_add_s8_cmsisnn.c - int8 elementwise add through arm_elementwise_add_s8: both inputs and the output
 * have the same shape (the exporter keeps broadcasting ADDs on ref). */
#include "nn_cmsisnn_common.h"

static int nn_same_dims(const nn_dims_t *a, const nn_dims_t *b)
{
    return a->n == b->n && a->h == b->h && a->w == b->w && a->c == b->c;
}

int nn_add_s8_cmsisnn(const nn_context_t *ctx, const nn_add_params_t *p,
                      const nn_dims_t *in1_dims, const int8_t *in1,
                      const nn_dims_t *in2_dims, const int8_t *in2,
                      const nn_dims_t *out_dims, int8_t *out)
{
    (void)ctx;
    if (!p || !in1_dims || !in1 || !in2_dims || !in2 || !out_dims || !out) {
        return NN_ERR_ARG;
    }
    if (!nn_cmsis_dims_ok(out_dims) || !nn_cmsis_dims_ok(in1_dims) || !nn_cmsis_dims_ok(in2_dims)) {
        return NN_ERR_ARG;
    }
    if (!nn_same_dims(in1_dims, out_dims) || !nn_same_dims(in2_dims, out_dims)) {
        return NN_ERR_UNSUPPORTED;
    }
    const int64_t size = (int64_t)out_dims->n * out_dims->h * out_dims->w * out_dims->c;
    if (size > INT32_MAX) {
        return NN_ERR_ARG;
    }
    return nn_cmsis_status(arm_elementwise_add_s8(
        in1, in2, p->input1_offset, p->input1_multiplier, p->input1_shift, p->input2_offset, p->input2_multiplier,
        p->input2_shift, p->left_shift, out, p->output_offset, p->output_multiplier, p->output_shift, p->act_min,
        p->act_max, (int32_t)size));
}
