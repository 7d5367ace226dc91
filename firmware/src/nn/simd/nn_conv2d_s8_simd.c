/*
 * nn_conv2d_s8_simd.c - int8 2-D convolution on the Cortex-M DSP extension.
 *
 * Four output pixels at a time: their im2col columns are expanded once to
 * int16 with the input offset added (padding taps become 0, exactly what ref
 * skips) and interleaved so that one LDRD fetches two pixels' k-pairs; then
 * every pair of output channels runs a 4-pixel x 2-channel register block of
 * SMLADs (2 MACs each; 16 SMLADs per 2 weight words) and a 5-instruction
 * requantization. A 1x1 convolution takes the same path (its columns are just
 * the input pixels). Weights come re-laid by the exporter
 * (edgekws.export.kernels.relayout_simd_conv): K4 = round4(f_h*f_w*f_c); for
 * each channel pair and each group of 4 k, the two channels' words, each as
 * [w0 w2 w1 w3]; an odd last channel as a plain row of such words. Groups
 * (f_c != in_c) are not supported here.
 *
 * Scratch: NN_CONV2D_S8_SIMD_SCRATCH(K4, out_c) = 16*out_c + 10*K4 bytes, 4-byte aligned: the
 * per-channel requantization table (nn_chq_t), 4 interleaved columns, one plain column. Given
 * NN_CONV2D_S8_SIMD_SCRATCH_S16(K4, out_c) (the exporter does when the layer's weights take at most
 * 16 KB as int16), the channel pairs' weights are also sign-extended once per call into scratch and
 * the inner loop is LDRD + SMLAD only (nn_mm_4x2_s16): flash keeps the int8 weights.
 */
#include "edgekws/nn_simd.h"
#include "nn_simd_common.h"

int nn_conv2d_s8_simd(const nn_context_t *ctx, const nn_conv_params_t *p, const nn_quant_t *q,
                      const nn_dims_t *in_dims, const int8_t *in,
                      const nn_dims_t *filter_dims, const int8_t *filter,
                      const int32_t *bias, const nn_dims_t *out_dims, int8_t *out)
{
    if (!ctx || !p || !q || !in_dims || !in || !filter_dims || !filter || !out_dims || !out) {
        return NN_ERR_ARG;
    }
    const int32_t f_h = filter_dims->h, f_w = filter_dims->w;
    const int32_t out_h = out_dims->h, out_w = out_dims->w, out_c = out_dims->c;
    if (filter_dims->c != in_dims->c || filter_dims->n != out_c) {
        return NN_ERR_UNSUPPORTED;
    }
    const int32_t k4 = nn_round4(f_h * f_w * in_dims->c);
    if (!ctx->scratch || ctx->scratch_size < NN_CONV2D_S8_SIMD_SCRATCH(k4, out_c) ||
        ((uintptr_t)ctx->scratch & 3u) != 0 || ((uintptr_t)filter & 3u) != 0) {
        return NN_ERR_ARG;
    }
    nn_chq_t *chq = (nn_chq_t *)ctx->scratch;
    nn_chq_prepare(chq, bias, q, out_c, p->output_offset);
    uint32_t *cols4 = (uint32_t *)(void *)(chq + out_c); /* 4 * k4 int16 */
    int16_t *tmp = (int16_t *)(void *)(cols4 + 2 * k4);  /* k4 int16 */
    const int32_t pairs = out_c / 2;
    int16_t *w16 = NULL;
    if (ctx->scratch_size >= NN_CONV2D_S8_SIMD_SCRATCH_S16(k4, out_c)) {
        w16 = tmp + k4; /* the channel pairs' weights as int16, expanded once per call */
        nn_expand_pairs_s16(w16, filter, pairs, k4);
    }
    const int32_t n_pix = out_h * out_w;
    for (int32_t b = 0; b < in_dims->n; ++b) {
        int8_t *ob = out + b * n_pix * out_c;
        for (int32_t i = 0; i < n_pix; i += NN_PIX4) {
            const int32_t n = n_pix - i < NN_PIX4 ? n_pix - i : NN_PIX4;
            for (int32_t j = 0; j < NN_PIX4; ++j) {
                if (j < n) {
                    const int32_t pix = i + j;
                    nn_im2col_s16(tmp, p, in_dims, in, f_h, f_w, b, pix / out_w, pix % out_w, k4);
                    nn_cols4_put(cols4, tmp, j, k4);
                } else {
                    nn_cols4_zero(cols4, j, k4);
                }
            }
            nn_gemm4(filter, w16, chq, out_c, k4, cols4, n, ob + i * out_c, p->output_offset, p->act_min,
                     p->act_max);
        }
    }
    return NN_OK;
}
