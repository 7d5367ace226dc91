/*
 * nn_conv2d_s8_wp.c - sparse int8 2-D convolution, "wp" backend:
 * weight-prioritized loop order over the nonzero weights only: each
 * compressed record (tap offset + weight) is applied to a block of 4 output
 * pixels (SMLABB/SMLATB, 1 MAC per instruction, no zero ever touched).
 * Format and scratch: nn_sparse_common.h, edgekws/nn_sparse.h.
 */
#include "nn_sparse_common.h"

int nn_conv2d_s8_wp(const nn_context_t *ctx, const nn_conv_params_t *p, const nn_quant_t *q,
                    const nn_dims_t *in_dims, const int8_t *in,
                    const nn_dims_t *filter_dims, const int8_t *filter,
                    const int32_t *bias, const nn_dims_t *out_dims, int8_t *out)
{
    return nn_sparse_conv_run(ctx, p, q, in_dims, in, filter_dims, filter, bias, out_dims, out, 0);
}
