/*
 * nn_conv2d_s8_block.c - sparse int8 2-D convolution, "block" backend:
 * 1x4 block sparsity (4 consecutive weights along the filter's
 * [fy][fx][c] axis kept or dropped together): each kept block is one
 * SXTB16 pair feeding SMLADs (2 MACs per instruction) for 4 output pixels.
 * Format and scratch: nn_sparse_common.h, edgekws/nn_sparse.h.
 */
#include "nn_sparse_common.h"

int nn_conv2d_s8_block(const nn_context_t *ctx, const nn_conv_params_t *p, const nn_quant_t *q,
                       const nn_dims_t *in_dims, const int8_t *in,
                       const nn_dims_t *filter_dims, const int8_t *filter,
                       const int32_t *bias, const nn_dims_t *out_dims, int8_t *out)
{
    return nn_sparse_conv_run(ctx, p, q, in_dims, in, filter_dims, filter, bias, out_dims, out, 1);
}
