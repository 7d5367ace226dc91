/* nn_conv2d_s8_cmsisnn.c - int8 2-D convolution through arm_convolve_wrapper_s8, which picks CMSIS-NN's
 * 1x1 / 1xN / im2col kernel from the shape. TFLite weight layout [out_c, kh, kw, in_c / groups].
 *
 * Grouped convolution needs CMSIS-NN V.12.6.0 or later: before that arm_convolve_s8 ignores groups and
 * writes wrong outputs, so against such a library (EDGEKWS_CMSISNN_HAS_GROUPED_CONV=0) a grouped layer is
 * NN_ERR_UNSUPPORTED here and never eligible in the exporter.
 *
 * Grouped convolution without bias: CMSIS-NN's arm_convolve_s8 (v7.0.0 and later) steps its bias pointer
 * group by group even when it is NULL, then reads through it. Such a layer gets a zeroed bias of out_c
 * int32 in its scratch, after CMSIS-NN's own buffer; the exporter plans those bytes for every grouped
 * conv (host/edgekws/export/kernels_cmsisnn.py). */
#include "nn_cmsisnn_common.h"

int nn_conv2d_s8_cmsisnn(const nn_context_t *ctx, const nn_conv_params_t *p, const nn_quant_t *q,
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
    const int32_t in_c = in_dims->c, f_c = filter_dims->c, out_c = out_dims->c;
    if (in_c % f_c != 0 || filter_dims->n != out_c || out_dims->n != in_dims->n || out_c % (in_c / f_c) != 0) {
        return NN_ERR_ARG;
    }
#if !EDGEKWS_CMSISNN_HAS_GROUPED_CONV
    if (in_c != f_c) {
        return NN_ERR_UNSUPPORTED;
    }
#endif
    const cmsis_nn_conv_params cp = {
        .input_offset = p->input_offset,
        .output_offset = p->output_offset,
        .stride = nn_cmsis_tile(p->stride),
        .padding = nn_cmsis_tile(p->padding),
        .dilation = nn_cmsis_tile(p->dilation),
        .activation = {.min = p->act_min, .max = p->act_max},
    };
    const cmsis_nn_per_channel_quant_params qp = nn_cmsis_quant(q);
    const cmsis_nn_dims id = nn_cmsis_dims(in_dims);
    const cmsis_nn_dims fd = nn_cmsis_dims(filter_dims);
    const cmsis_nn_dims od = nn_cmsis_dims(out_dims);
    const cmsis_nn_dims bd = {.n = 1, .h = 1, .w = 1, .c = out_c};
    const int32_t need = arm_convolve_wrapper_s8_get_buffer_size(&cp, &id, &fd, &od);
    if (need < 0) {
        return NN_ERR_ARG;
    }
    const int zero_bias = bias == NULL && in_c != f_c;
    const int32_t bias_at = (need + 3) & ~3;
    cmsis_nn_context cc;
    const int rc = nn_cmsis_context(ctx, zero_bias ? bias_at + 4 * out_c : need, &cc);
    if (rc != NN_OK) {
        return rc;
    }
    if (zero_bias) {
        int32_t *zeros = (int32_t *)(void *)((uint8_t *)ctx->scratch + bias_at);
        for (int32_t i = 0; i < out_c; ++i) {
            zeros[i] = 0;
        }
        bias = zeros;
    }
    return nn_cmsis_status(arm_convolve_wrapper_s8(&cc, &cp, &qp, &id, in, &fd, filter, &bd, bias, &od, out));
}
