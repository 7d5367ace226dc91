/*
 * nn_fully_connected_s8_wp.c - sparse int8 fully connected, "wp" backend:
 * the FC runs as a 1x1 convolution whose "pixels" are the batch rows
 * (same compressed records and scratch as nn_conv2d_s8_wp with K4 = round4(depth)).
 */
#include "nn_sparse_common.h"

int nn_fully_connected_s8_wp(const nn_context_t *ctx, const nn_fc_params_t *p, const nn_quant_t *q,
                             const nn_dims_t *in_dims, const int8_t *in,
                             const nn_dims_t *filter_dims, const int8_t *filter,
                             const int32_t *bias, const nn_dims_t *out_dims, int8_t *out)
{
    if (!p || !in_dims || !filter_dims || !out_dims) {
        return NN_ERR_ARG;
    }
    const int32_t depth = filter_dims->c, units = filter_dims->n;
    if (in_dims->c != depth || out_dims->c != units) {
        return NN_ERR_ARG;
    }
    const nn_conv_params_t cp = {
        .input_offset = p->input_offset, .output_offset = p->output_offset,
        .stride = {1, 1}, .padding = {0, 0}, .dilation = {1, 1}, .depth_multiplier = 1,
        .act_min = p->act_min, .act_max = p->act_max,
    };
    const nn_dims_t in2 = {1, 1, in_dims->n, depth};
    const nn_dims_t f2 = {units, 1, 1, depth};
    const nn_dims_t out2 = {1, 1, in_dims->n, units};
    return nn_sparse_conv_run(ctx, &cp, q, &in2, in, &f2, filter, bias, &out2, out, 0);
}
