/*
 * nn_sparse.h - the sparse kernel backends, chosen per layer at export time
 * from the layer's sparsity pattern (host/edgekws/export/kernels.py). All are
 * bit-exact with ref and keep the nn_conv_fn / nn_fc_fn signatures.
 *
 *   skipzero  ref's loop order, TFLite weights, zero weights tested and skipped
 *             (the naive baseline; conv, depthwise, FC).
 *   wp        weight-prioritized: only nonzero weights are stored, as records
 *             (tap offset << 16 | int16 weight) per output channel (CSR, row
 *             pointers in ctx->aux); each record is applied to 4 output pixels
 *             with SMLABB/SMLATB (conv, FC). Depthwise: records (tap offset in the
 *             zero-point-padded input << 16 | int16 weight) per channel.
 *   block     1x4 block sparsity along the filter's [fy][fx][c] axis: each kept
 *             block is (weights [w0 w2 w1 w3], offset) and feeds SMLAD for 4
 *             output pixels (conv, FC).
 *
 * "wp" / "block": filter = the records (4-byte aligned), ctx->aux = uint32
 * row_ptr[out_c + 1] then uint32 n_words (record words stored, == row_ptr[out_c];
 * a blob that is not exactly that is rejected with NN_ERR_ARG), scratch = NN_CONV2D_S8_SPARSE_SCRATCH(K4, out_c) bytes with
 * K4 = round_up(f_h * f_w * f_c, 4) (FC: round_up(depth, 4)), K4 <= NN_SPARSE_MAX_K4.
 */
#ifndef EDGEKWS_NN_SPARSE_H
#define EDGEKWS_NN_SPARSE_H

#include "edgekws/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NN_SPARSE_PIXELS 4
#define NN_SPARSE_MAX_K4 8192
/* depthwise "wp": channel table + the zero-point-padded input, hp = (out_h-1)*stride_h + (f_h-1)*dilation_h + 1 */
#define NN_DEPTHWISE_S8_WP_SCRATCH(c, hp, wp) ((uint32_t)(c) * 20u + (uint32_t)(hp) * (uint32_t)(wp) * (uint32_t)(c))
#define NN_CONV2D_S8_SPARSE_SCRATCH(k4, out_c) ((uint32_t)(k4) * 16u + (uint32_t)(out_c) * 20u)

int nn_conv2d_s8_skipzero(const nn_context_t *ctx, const nn_conv_params_t *p, const nn_quant_t *q,
                          const nn_dims_t *in_dims, const int8_t *in,
                          const nn_dims_t *filter_dims, const int8_t *filter,
                          const int32_t *bias, const nn_dims_t *out_dims, int8_t *out);
int nn_depthwise_conv2d_s8_skipzero(const nn_context_t *ctx, const nn_conv_params_t *p, const nn_quant_t *q,
                                    const nn_dims_t *in_dims, const int8_t *in,
                                    const nn_dims_t *filter_dims, const int8_t *filter,
                                    const int32_t *bias, const nn_dims_t *out_dims, int8_t *out);
int nn_fully_connected_s8_skipzero(const nn_context_t *ctx, const nn_fc_params_t *p, const nn_quant_t *q,
                                   const nn_dims_t *in_dims, const int8_t *in,
                                   const nn_dims_t *filter_dims, const int8_t *filter,
                                   const int32_t *bias, const nn_dims_t *out_dims, int8_t *out);
int nn_conv2d_s8_wp(const nn_context_t *ctx, const nn_conv_params_t *p, const nn_quant_t *q,
                    const nn_dims_t *in_dims, const int8_t *in,
                    const nn_dims_t *filter_dims, const int8_t *filter,
                    const int32_t *bias, const nn_dims_t *out_dims, int8_t *out);
int nn_depthwise_conv2d_s8_wp(const nn_context_t *ctx, const nn_conv_params_t *p, const nn_quant_t *q,
                              const nn_dims_t *in_dims, const int8_t *in,
                              const nn_dims_t *filter_dims, const int8_t *filter,
                              const int32_t *bias, const nn_dims_t *out_dims, int8_t *out);
int nn_fully_connected_s8_wp(const nn_context_t *ctx, const nn_fc_params_t *p, const nn_quant_t *q,
                             const nn_dims_t *in_dims, const int8_t *in,
                             const nn_dims_t *filter_dims, const int8_t *filter,
                             const int32_t *bias, const nn_dims_t *out_dims, int8_t *out);
int nn_conv2d_s8_block(const nn_context_t *ctx, const nn_conv_params_t *p, const nn_quant_t *q,
                       const nn_dims_t *in_dims, const int8_t *in,
                       const nn_dims_t *filter_dims, const int8_t *filter,
                       const int32_t *bias, const nn_dims_t *out_dims, int8_t *out);
int nn_fully_connected_s8_block(const nn_context_t *ctx, const nn_fc_params_t *p, const nn_quant_t *q,
                                const nn_dims_t *in_dims, const int8_t *in,
                                const nn_dims_t *filter_dims, const int8_t *filter,
                                const int32_t *bias, const nn_dims_t *out_dims, int8_t *out);

#ifdef __cplusplus
}
#endif

#endif /* EDGEKWS_NN_SPARSE_H */
