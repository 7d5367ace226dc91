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

/* Version of the weight / aux layouts the simd kernels read (edgekws.export.kernels.SIMD_LAYOUT_VERSION): bump it
 * with every layout change; a generated model whose layer table uses simd #errors at compile time when it was
 * exported for another version (a stale edgekws_model.c would otherwise give wrong outputs, not an error). */
#define NN_SIMD_LAYOUT_VERSION 1

#ifdef __cplusplus
extern "C" {
#endif

/* Scratch bytes of the conv, given K4 = round_up(f_h * f_w * f_c, 4): two interleaved int16 columns and one
 * im2col column; _1X1: a 1x1 conv with stride 1, no padding and f_c a multiple of 4 (no im2col column). */
#define NN_CONV2D_S8_SIMD_SCRATCH(k4) ((uint32_t)(k4) * 6u)
#define NN_CONV2D_S8_SIMD_SCRATCH_1X1(k4) ((uint32_t)(k4) * 4u)
/* FC scratch bytes, given K4 = round_up(depth, 4). */
#define NN_FULLY_CONNECTED_S8_SIMD_SCRATCH(k4) ((uint32_t)(k4) * 4u)
/* The conv and depthwise kernels take no RAM for weights or per-channel constants: ctx->aux holds the
 * exporter's requantization table, 16 bytes per output channel, channels padded to a multiple of 4. */
#define NN_SIMD_REQUANT_TABLE_SIZE(c) ((((uint32_t)(c) + 3u) & ~3u) * 16u)
/* Depthwise scratch bytes for the 3x3 / stride 1 / padding (0 or 1, 1) / channels % 4 == 0 path, given the
 * output height: a ring of 3 input columns of one channel, (out_h + 1) / 2 + 1 words of two int16 each.
 * Other shapes take none. */
#define NN_DEPTHWISE_S8_SIMD_SCRATCH_3X3(out_h) (((uint32_t)(out_h) + 1u) / 2u * 12u + 12u)
/* Largest f_h * f_w the simd depthwise kernel takes (its tap list lives on the stack). */
#define NN_DEPTHWISE_SIMD_MAX_TAPS 64

/* Weights: int16 (2 bytes per weight, 4-byte aligned), per group of 4 output channels (zero rows pad the
 * last group) and per k pair the 4 channels' pairs; the pairs of each group of 4 k are (k0, k2), (k1, k3);
 * K4 zero padded. ctx->aux: the requantization table (bias folded in). Groups unsupported. */
int nn_conv2d_s8_simd(const nn_context_t *ctx, const nn_conv_params_t *p, const nn_quant_t *q,
                      const nn_dims_t *in_dims, const int8_t *in,
                      const nn_dims_t *filter_dims, const int8_t *filter,
                      const int32_t *bias, const nn_dims_t *out_dims, int8_t *out);
/* A 1x1 conv, stride 1, no padding, in_c % 4 == 0 and in_c <= NN_CONV2D_1X1_S8_SIMD_MAX_K4 (nn_conv2d_s8_simd hands
 * those to it): 3-pixel x 2-channel blocks, no scratch (its columns, 6 * in_c bytes, are on the stack). Weights: per
 * pair of output channels (zero-padded to an even count) {2*bias0, 2*bias1} int32, per k pair the 2 channels' doubled
 * int16 pairs (SXTAB16 order as above), then {mult, rd, R} int32 per channel; ctx->aux: the requantization table. */
#define NN_CONV2D_1X1_S8_SIMD_MAX_K4 64
int nn_conv2d_1x1_s8_simd(const nn_context_t *ctx, const nn_conv_params_t *p, const nn_quant_t *q,
                          const nn_dims_t *in_dims, const int8_t *in,
                          const nn_dims_t *filter_dims, const int8_t *filter,
                          const int32_t *bias, const nn_dims_t *out_dims, int8_t *out);
/* A conv whose filter rows are one word (f_w * c == 4, dilation 1, 4 * f_h <= NN_CONV2D_1X1_S8_SIMD_MAX_K4, input
 * rows of at least 4 bytes; nn_conv2d_s8_simd hands those to it), any stride and padding: the same 3x2 block and
 * weight records as nn_conv2d_1x1_s8_simd, no scratch. */
int nn_conv2d_rows4_s8_simd(const nn_context_t *ctx, const nn_conv_params_t *p, const nn_quant_t *q,
                            const nn_dims_t *in_dims, const int8_t *in,
                            const nn_dims_t *filter_dims, const int8_t *filter,
                            const int32_t *bias, const nn_dims_t *out_dims, int8_t *out);
/* Depth multiplier 1, f_h * f_w <= NN_DEPTHWISE_SIMD_MAX_TAPS; ctx->aux: the requantization table (bias
 * folded in). Weights: TFLite's layout, except on the 3x3 path (NN_DEPTHWISE_S8_SIMD_SCRATCH_3X3): per channel
 * 10 words of int16 vertical tap pairs, scaled, and its own table rows (edgekws.export.kernels.simd_dw3_table,
 * relayout_simd_dw). */
int nn_depthwise_conv2d_s8_simd(const nn_context_t *ctx, const nn_conv_params_t *p, const nn_quant_t *q,
                                const nn_dims_t *in_dims, const int8_t *in,
                                const nn_dims_t *filter_dims, const int8_t *filter,
                                const int32_t *bias, const nn_dims_t *out_dims, int8_t *out);
/* Weights: units rows of K4 int8, groups of 4 as [w0 w2 w1 w3], zero padded. */
int nn_fully_connected_s8_simd(const nn_context_t *ctx, const nn_fc_params_t *p, const nn_quant_t *q,
                               const nn_dims_t *in_dims, const int8_t *in,
                               const nn_dims_t *filter_dims, const int8_t *filter,
                               const int32_t *bias, const nn_dims_t *out_dims, int8_t *out);

/* Average pool, ref's arithmetic: channels % 4 == 0 sum 4 channels per word in 16-bit lanes (SXTAB16);
 * other channel counts run nn_avgpool_s8_ref. No scratch, no aux. */
int nn_avgpool_s8_simd(const nn_context_t *ctx, const nn_pool_params_t *p, const nn_dims_t *in_dims,
                       const int8_t *in, const nn_dims_t *out_dims, int8_t *out);

#ifdef __cplusplus
}
#endif

#endif /* EDGEKWS_NN_SIMD_H */
