/*
 * nn_simd.h - the "simd" kernel backend: int8 kernels on the Cortex-M DSP
 * extension (SXTB16/SXTAB16 unpack, SMLAD 2 MACs per instruction), bit-exact
 * with the ref backend. Same signatures as ref (nn_conv_fn / nn_fc_fn).
 *
 * Each kernel expects the weight layout and scratch size that the exporter's
 * backend registry (host/edgekws/export/kernels.py) produces; the scratch
 * macros below are the C side of that contract (tests check they agree).
 * The same sources build on the host with exact C models of the
 * instructions (edgekws/nn_dsp.h).
 */
#ifndef EDGEKWS_NN_SIMD_H
#define EDGEKWS_NN_SIMD_H

#include "edgekws/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Scratch bytes, given K4 = round_up(f_h * f_w * f_c, 4) (FC: round_up(depth, 4)) and the output channels. */
#define NN_CONV2D_S8_SIMD_SCRATCH(k4, out_c) ((uint32_t)(k4) * 10u + (uint32_t)(out_c) * 16u)
/* ... plus room for the channel pairs' weights as int16 (the faster inner loop). */
#define NN_CONV2D_S8_SIMD_SCRATCH_S16(k4, out_c) \
    (NN_CONV2D_S8_SIMD_SCRATCH(k4, out_c) + (uint32_t)(k4) * 4u * ((uint32_t)(out_c) / 2u))
#define NN_FULLY_CONNECTED_S8_SIMD_SCRATCH(k4) ((uint32_t)(k4) * 4u)
/* Depthwise scratch bytes, given the channel count. */
#define NN_DEPTHWISE_S8_SIMD_SCRATCH(c) ((uint32_t)(c) * 12u)
/* Largest f_h * f_w the simd depthwise kernel takes (its tap list lives on the stack). */
#define NN_DEPTHWISE_SIMD_MAX_TAPS 64

/* Weights: per channel pair and group of 4 k, both channels' words [w0 w2 w1 w3] (an odd last channel
 * as a plain row of such words), K4 zero padded. Groups unsupported. */
int nn_conv2d_s8_simd(const nn_context_t *ctx, const nn_conv_params_t *p, const nn_quant_t *q,
                      const nn_dims_t *in_dims, const int8_t *in,
                      const nn_dims_t *filter_dims, const int8_t *filter,
                      const int32_t *bias, const nn_dims_t *out_dims, int8_t *out);
/* Depth multiplier 1, f_h * f_w <= NN_DEPTHWISE_SIMD_MAX_TAPS; TFLite weight layout. */
int nn_depthwise_conv2d_s8_simd(const nn_context_t *ctx, const nn_conv_params_t *p, const nn_quant_t *q,
                                const nn_dims_t *in_dims, const int8_t *in,
                                const nn_dims_t *filter_dims, const int8_t *filter,
                                const int32_t *bias, const nn_dims_t *out_dims, int8_t *out);
/* Weights: units rows of K4 int8, groups of 4 as [w0 w2 w1 w3], zero padded. */
int nn_fully_connected_s8_simd(const nn_context_t *ctx, const nn_fc_params_t *p, const nn_quant_t *q,
                               const nn_dims_t *in_dims, const int8_t *in,
                               const nn_dims_t *filter_dims, const int8_t *filter,
                               const int32_t *bias, const nn_dims_t *out_dims, int8_t *out);

#ifdef __cplusplus
}
#endif

#endif /* EDGEKWS_NN_SIMD_H */
