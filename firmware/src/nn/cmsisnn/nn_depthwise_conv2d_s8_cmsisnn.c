/* nn_depthwise_conv2d_s8_cmsisnn.c - int8 depthwise convolution through arm_depthwise_conv_wrapper_s8
 * (3x3 / _opt kernels for depth multiplier 1, the generic one otherwise). TFLite weights [1, kh, kw, out_c]. */
#include "nn_cmsisnn_common.h"

int nn_depthwise_conv2d_s8_cmsisnn(const nn_context_t *ctx, const nn_conv_params_t *p, const nn_quant_t *q,
                                   const nn_dims_t *in_dims, const int8_t *in,
                                   const nn_dims_t *filter_dims, const int8_t *filter,
                                   const int32_t *bias, const nn_dims_t *out_dims, int8_t *out)
{
    if (!ctx || !p || !q || !q->multiplier || !q->shift || !in_dims || !in || !filter_dims || !filter ||
        !out_dims || !out) {
        return NN_ERR_ARG;
    }
    if (!nn_cmsis_dims_ok(in_dims) || !nn_cmsis_dims_ok(filter_dims) || !nn_cmsis_dims_ok(out_dims) ||
        !nn_cmsis_window_ok(p->stride, p->padding, p->dilation)) {
        return NN_ERR_ARG;
    }
    const int32_t dm = p->depth_multiplier;
    if (dm < 1 || out_dims->c != in_dims->c * dm || filter_dims->c != out_dims->c || filter_dims->n != 1 ||
        out_dims->n != in_dims->n) {
        return NN_ERR_ARG;
    }
    const cmsis_nn_dw_conv_params dp = {
        .input_offset = p->input_offset,
        .output_offset = p->output_offset,
        .ch_mult = dm,
        .stride = nn_cmsis_tile(p->stride),
        .padding = nn_cmsis_tile(p->padding),
        .dilation = nn_cmsis_tile(p->dilation),
        .activation = {.min = p->act_min, .max = p->act_max},
    };
    const cmsis_nn_per_channel_quant_params qp = nn_cmsis_quant(q);
    const cmsis_nn_dims id = nn_cmsis_dims(in_dims);
    const cmsis_nn_dims fd = nn_cmsis_dims(filter_dims);
    const cmsis_nn_dims od = nn_cmsis_dims(out_dims);
    const cmsis_nn_dims bd = {.n = 1, .h = 1, .w = 1, .c = out_dims->c};
    cmsis_nn_context cc;
    const int rc = nn_cmsis_context(ctx, arm_depthwise_conv_wrapper_s8_get_buffer_size(&dp, &id, &fd, &od), &cc);
    if (rc != NN_OK) {
        return rc;
    }
    return nn_cmsis_status(
        arm_depthwise_conv_wrapper_s8(&cc, &dp, &qp, &id, in, &fd, filter, &bd, bias, &od, out));
}
