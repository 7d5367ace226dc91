/*
 * nn_conv2d_rows4_s8_simd.c - int8 2-D convolution whose filter rows are one word of taps (f_w * c == 4,
 * dilation 1, K4 = 4 * f_h <= NN_CONV2D_1X1_S8_SIMD_MAX_K4) on the Cortex-M DSP extension: DS-CNN's first
 * conv (10x4 on one channel, stride 2), full-window or one streaming step, any padding.
 *
 * A GEMM on a short im2col: 3 output pixels' columns (6*K4 bytes on the stack, no arena scratch) go through
 * the 3-pixel x 2-channel block of the 1x1 kernel (nn_simd_block3x2: one LDM + one LDRD per 6
 * SMLADs, the weights as its channel-pair records). A pixel's column is one word per filter row, loaded
 * straight from the input row and widened with SXTAB16 (input offset added); an edge pixel's word is loaded
 * from inside the row and shifted into place, its clipped taps filled with the input zero point (which
 * SXTAB16 makes the 0 that ref's skipped tap contributes); rows above or below the input are 0.
 */
#include "edgekws/nn_simd.h"
#include "nn_simd_common.h"

/*
 * Pixel (oy, ox)'s column into dst (pixel j of the block: cols + j), per filter row the words dst[0]
 * (k0, k2) and dst[3] (k1, k3), dst += 6.
 */
static void nn_col3_rows4(uint32_t *dst, const nn_conv_params_t *p, const nn_dims_t *in_dims, const int8_t *in_b,
                          int32_t f_h, int32_t oy, int32_t ox, uint32_t off2, uint32_t zp4)
{
    const int32_t in_h = in_dims->h, row = in_dims->w * in_dims->c;
    const int32_t iy0 = oy * p->stride.h - p->padding.h, start = (ox * p->stride.w - p->padding.w) * in_dims->c;
    const int32_t fy_lo = iy0 < 0 ? (-iy0 < f_h ? -iy0 : f_h) : 0;
    const int32_t fy_hi = in_h - iy0 < f_h ? (in_h - iy0 > fy_lo ? in_h - iy0 : fy_lo) : f_h;
    const int32_t base = start < 0 ? 0 : (start > row - 4 ? row - 4 : start);
    const int32_t d = start - base; /* bytes: < 0 clipped on the left, > 0 on the right */
    uint32_t shl, shr;
    const uint32_t keep = nn_edge_word_keep(d, &shl, &shr);
    const uint32_t fill = zp4 & ~keep;
    int32_t fy = 0;
    for (; fy < fy_lo; ++fy, dst += 6) {
        dst[0] = 0;
        dst[3] = 0;
        __asm__("" ::: "memory"); /* a few words: stores, not a call to memset */
    }
    const int8_t *src = in_b + (iy0 + fy_lo) * row + base;
    int32_t n = fy_hi - fy_lo;
#if NN_DSP_ACLE
    if (n > 0 && keep == 0xffffffffu) { /* 8 instructions per row */
        uint32_t x, e;
        __asm__ volatile("1:\n\t"
                         "ldr     %[x], [%[s]]\n\t"
                         "add     %[s], %[s], %[rs]\n\t"
                         "sxtab16 %[e], %[off], %[x]\n\t"
                         "sxtab16 %[x], %[off], %[x], ror #8\n\t"
                         "str     %[e], [%[d]], #24\n\t"
                         "str     %[x], [%[d], #-12]\n\t"
                         "subs    %[n], %[n], #1\n\t"
                         "bne     1b\n\t"
                         : [s] "+r"(src), [d] "+r"(dst), [n] "+r"(n), [x] "=&r"(x), [e] "=&r"(e)
                         : [rs] "r"(row), [off] "r"(off2)
                         : "cc", "memory");
    }
#endif
    for (; n > 0; --n, src += row, dst += 6) { /* an edge pixel: the word shifted into place, zero point in */
        const uint32_t x = (((nn_ld32(src) << shl) >> shr) & keep) | fill;
        dst[0] = nn_sxtab16(off2, x);
        dst[3] = nn_sxtab16_ror8(off2, x);
    }
    for (fy = fy_hi; fy < f_h; ++fy, dst += 6) {
        dst[0] = 0;
        dst[3] = 0;
        __asm__("" ::: "memory");
    }
}

int nn_conv2d_rows4_s8_simd(const nn_context_t *ctx, const nn_conv_params_t *p, const nn_quant_t *q,
                            const nn_dims_t *in_dims, const int8_t *in,
                            const nn_dims_t *filter_dims, const int8_t *filter,
                            const int32_t *bias, const nn_dims_t *out_dims, int8_t *out)
{
    (void)bias; /* in the exporter's weight records */
    (void)q;    /* likewise the requantization */
    if (!ctx || !p || !in_dims || !in || !filter_dims || !filter || !out_dims || !out) {
        return NN_ERR_ARG;
    }
    const int32_t f_h = filter_dims->h, in_c = in_dims->c, out_c = out_dims->c;
    if (filter_dims->w * in_c != 4 || filter_dims->c != in_c || filter_dims->n != out_c || f_h <= 0 ||
        4 * f_h > NN_CONV2D_1X1_S8_SIMD_MAX_K4 || p->dilation.h != 1 || p->dilation.w != 1 ||
        in_dims->w * in_c < 4 || out_dims->n != in_dims->n) {
        return NN_ERR_UNSUPPORTED;
    }
    const nn_chq_t *chq = nn_chq_table(ctx, out_c);
    if (!chq || ((uintptr_t)filter & 3u) != 0) {
        return NN_ERR_ARG;
    }
    uint32_t cols[6 * NN_CONV2D_1X1_S8_SIMD_MAX_K4 / 4] __attribute__((aligned(8)));
    const uint32_t off2 = nn_pack16(p->input_offset, p->input_offset);
    const uint32_t zp4 = 0x01010101u * (uint8_t)(int8_t)-p->input_offset;
    const int32_t k4 = 4 * f_h, out_w = out_dims->w, n_pix = out_dims->h * out_w;
    const int fast = nn_simd_block3x2_fast(chq, out_c, p);
    for (int32_t b = 0; b < in_dims->n; ++b) {
        const int8_t *in_b = in + b * in_dims->h * in_dims->w * in_c;
        int8_t *ob = out + b * n_pix * out_c;
        for (int32_t i = 0; i < n_pix; i += 3) {
            const int32_t n = n_pix - i < 3 ? n_pix - i : 3;
            for (int32_t j = 0; j < 3; ++j) { /* a missing pixel repeats the last one */
                const int32_t pix = i + (j < n ? j : n - 1);
                nn_col3_rows4(cols + j, p, in_dims, in_b, f_h, pix / out_w, pix % out_w, off2, zp4);
            }
            const int32_t d1 = (n > 1 ? 1 : 0) * out_c, d2 = (n > 2 ? 2 : n - 1) * out_c;
            nn_simd_block3x2(filter, cols, k4, out_c, ob + i * out_c, d1, d2, n, p, fast);
        }
    }
    return NN_OK;
}
