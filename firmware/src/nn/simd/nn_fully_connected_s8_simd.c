/*
 * nn_fully_connected_s8_simd.c - int8 fully connected on the DSP extension.
 *
 * Two batch rows at a time are expanded to int16 with the input offset, then
 * pairs of units run SMLAD dot products (the same 2x2 / 2x1 blocks as the
 * simd conv). Weights re-laid by the exporter like the conv's: units rows of
 * K4 = round4(depth) int8, groups of 4 as [w0 w2 w1 w3], zero padded.
 *
 * Scratch: 2 rows of K4 int16 = 4*K4 bytes, 4-byte aligned.
 */
#include "edgekws/nn_simd.h"
#include "nn_simd_common.h"

int nn_fully_connected_s8_simd(const nn_context_t *ctx, const nn_fc_params_t *p, const nn_quant_t *q,
                               const nn_dims_t *in_dims, const int8_t *in,
                               const nn_dims_t *filter_dims, const int8_t *filter,
                               const int32_t *bias, const nn_dims_t *out_dims, int8_t *out)
{
    if (!ctx || !p || !q || !in_dims || !in || !filter_dims || !filter || !out_dims || !out) {
        return NN_ERR_ARG;
    }
    const int32_t batches = in_dims->n;
    const int32_t depth = filter_dims->c;
    const int32_t units = filter_dims->n;
    if (in_dims->c != depth || out_dims->c != units) {
        return NN_ERR_ARG;
    }
    const int32_t k4 = nn_round4(depth);
    if (!ctx->scratch || ctx->scratch_size < NN_FULLY_CONNECTED_S8_SIMD_SCRATCH(k4) ||
        ((uintptr_t)ctx->scratch & 3u) != 0) {
        return NN_ERR_ARG;
    }
    int16_t *rows = (int16_t *)ctx->scratch;
    for (int32_t b = 0; b < batches; b += 2) {
        const int32_t n = (b + 1 < batches) ? 2 : 1;
        for (int32_t j = 0; j < n; ++j) {
            nn_expand_s8_s16(rows + j * k4, in + (b + j) * depth, depth, p->input_offset);
            nn_zero_s16(rows + j * k4 + depth, k4 - depth);
        }
        nn_gemm_cols(filter, bias, q, units, k4, rows, n, out + b * units, units, p->output_offset, p->act_min,
                     p->act_max);
    }
    return NN_OK;
}
