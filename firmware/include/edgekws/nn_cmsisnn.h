/*
 * nn_cmsisnn.h - the "cmsisnn" kernel backend: thin wrappers that run edgekws
 * layers through Arm CMSIS-NN. Same signatures as ref (nn_conv_fn, nn_fc_fn,
 * nn_pool_fn, nn_add_fn, nn_softmax_fn), TFLite weight layouts as they are.
 *
 * CMSIS-NN is not part of edgekws: tools/fetch_cmsisnn.py puts CMSIS-NN
 * 12.5.1 into ~/.cache/edgekws/cmsis-nn-12.5.1, the build takes it from there
 * or from EDGEKWS_CMSISNN_DIR (CMake variable or environment), compiles
 * src/nn/cmsisnn/ with it and defines EDGEKWS_HAS_CMSISNN=1 plus what it found
 * in the library's header: EDGEKWS_CMSISNN_VERSION (major*10000 + minor*100 +
 * patch), EDGEKWS_CMSISNN_HAS_FC_PER_CHANNEL, EDGEKWS_CMSISNN_HAS_GROUPED_CONV,
 * EDGEKWS_CMSISNN_VECTOR_SUM_ARGS. Without it these functions do not exist,
 * and a model exported with backend "cmsisnn" does not link (the build says
 * so first).
 *
 * Scratch: each wrapper asks CMSIS-NN's matching *_get_buffer_size for the
 * bytes it needs on this core (plain C, DSP extension or MVE differ) and
 * returns NN_ERR_ARG when ctx->scratch is smaller. The exporter plans the
 * largest of the plain-C and DSP figures
 * (host/edgekws/export/kernels_cmsisnn.py), so an image built for any
 * Cortex-M without MVE always passes this check.
 *
 * Return codes: NN_OK; NN_ERR_ARG for bad pointers, shapes or scratch and for
 * CMSIS-NN's ARM_CMSIS_NN_ARG_ERROR / _FAILURE; NN_ERR_UNSUPPORTED for
 * ARM_CMSIS_NN_NO_IMPL_ERROR and for shapes a wrapper does not take
 * (broadcasting ADD).
 */
#ifndef EDGEKWS_NN_CMSISNN_H
#define EDGEKWS_NN_CMSISNN_H

#include "edgekws/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* arm_convolve_wrapper_s8 (1x1 fast / 1x1 / 1xN / im2col+GEMM); grouped convolution where the library
 * has it (V.12.6.0 and later), NN_ERR_UNSUPPORTED otherwise. */
int nn_conv2d_s8_cmsisnn(const nn_context_t *ctx, const nn_conv_params_t *p, const nn_quant_t *q,
                         const nn_dims_t *in_dims, const int8_t *in,
                         const nn_dims_t *filter_dims, const int8_t *filter,
                         const int32_t *bias, const nn_dims_t *out_dims, int8_t *out);
/* arm_depthwise_conv_wrapper_s8 (3x3 / _opt / generic with depth multiplier). */
int nn_depthwise_conv2d_s8_cmsisnn(const nn_context_t *ctx, const nn_conv_params_t *p, const nn_quant_t *q,
                                   const nn_dims_t *in_dims, const int8_t *in,
                                   const nn_dims_t *filter_dims, const int8_t *filter,
                                   const int32_t *bias, const nn_dims_t *out_dims, int8_t *out);
/* arm_fully_connected_s8 (one multiplier for all units); per-channel: arm_fully_connected_per_channel_s8
 * where the library has it, else one arm_fully_connected_s8 per run of units sharing a requantization. */
int nn_fully_connected_s8_cmsisnn(const nn_context_t *ctx, const nn_fc_params_t *p, const nn_quant_t *q,
                                  const nn_dims_t *in_dims, const int8_t *in,
                                  const nn_dims_t *filter_dims, const int8_t *filter,
                                  const int32_t *bias, const nn_dims_t *out_dims, int8_t *out);
/* arm_avgpool_s8 */
int nn_avgpool_s8_cmsisnn(const nn_context_t *ctx, const nn_pool_params_t *p,
                          const nn_dims_t *in_dims, const int8_t *in, const nn_dims_t *out_dims, int8_t *out);
/* arm_max_pool_s8 (input and output must not overlap) */
int nn_maxpool_s8_cmsisnn(const nn_context_t *ctx, const nn_pool_params_t *p,
                          const nn_dims_t *in_dims, const int8_t *in, const nn_dims_t *out_dims, int8_t *out);
/* arm_elementwise_add_s8: same shape on both inputs only (NN_ERR_UNSUPPORTED when broadcasting). */
int nn_add_s8_cmsisnn(const nn_context_t *ctx, const nn_add_params_t *p,
                      const nn_dims_t *in1_dims, const int8_t *in1,
                      const nn_dims_t *in2_dims, const int8_t *in2,
                      const nn_dims_t *out_dims, int8_t *out);
/* arm_softmax_s8 */
int nn_softmax_s8_cmsisnn(const nn_context_t *ctx, const nn_softmax_params_t *p,
                          int32_t rows, int32_t depth, const int8_t *in, int8_t *out);

#ifdef __cplusplus
}
#endif

#endif /* EDGEKWS_NN_CMSISNN_H */
