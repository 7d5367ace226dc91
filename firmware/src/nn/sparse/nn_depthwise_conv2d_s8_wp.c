/*
 * nn_depthwise_conv2d_s8_wp.c - sparse int8 depthwise convolution (depth
 * multiplier 1), "wp" backend: per channel only its nonzero taps are stored,
 * as records (tap offset in the padded input << 16 | int16 weight), CSR row
 * pointers in ctx->aux. The input is first copied into a zero-point border
 * (x + offset = 0 there, so a border tap adds exactly what ref's skipped tap
 * adds: nothing), which gives every tap a fixed offset from the pixel and
 * removes all bounds checks. With 9 taps per channel, a dense depthwise layer
 * spends most of its time outside the MACs; at 80 % sparsity this kernel does
 * about 2 MACs per output and the requantization.
 *
 * Scratch: NN_DEPTHWISE_S8_WP_SCRATCH(C, Hp, Wp) = 20*C + Hp*Wp*C bytes, with
 * Hp = (out_h-1)*stride_h + (f_h-1)*dilation_h + 1 (Wp alike).
 */
#include <string.h>

#include "nn_sparse_common.h"

/*
 * One channel over all output pixels (channel-major: its constants and records stay in registers).
 * The input offset is folded into the accumulator's start (bias + offset * sum of the channel's
 * weights): exact, since every tap reads a real value or the zero point. nt >= 0: exactly nt
 * records, unrolled with their offsets and weights in registers (2 instructions per MAC);
 * nt < 0: any number, looped.
 */
NN_ALWAYS_INLINE void nn_dw_wp_channel(const nn_sparse_ch_t *ch, const uint32_t *rec, const uint32_t *end,
                                       const int8_t *pad, int32_t c, int32_t n_ch, int32_t out_h, int32_t out_w,
                                       int32_t row_step, int32_t col_step, int32_t in_off, int8_t *out,
                                       int32_t out_offset, int32_t act_min, int32_t act_max, int32_t mode, int nt)
{
    int32_t bias = ch->bias;
    for (const uint32_t *r = rec; r < end; ++r) {
        bias += nn_lo16(*r) * in_off;
    }
    const int32_t mult = ch->mult, rnd = ch->rnd, rsh = ch->rsh;
    const uint32_t r0 = nt > 0 ? rec[0] : 0, r1 = nt > 1 ? rec[1] : 0, r2 = nt > 2 ? rec[2] : 0,
                   r3 = nt > 3 ? rec[3] : 0;
    const uint32_t o0 = r0 >> 16, o1 = r1 >> 16, o2 = r2 >> 16, o3 = r3 >> 16;
    int8_t *op = out + c;
    for (int32_t oy = 0; oy < out_h; ++oy) {
        const int8_t *xb = pad + oy * row_step + c;
        for (int32_t ox = 0; ox < out_w; ++ox, xb += col_step, op += n_ch) {
            int32_t acc = bias;
            if (nt < 0) {
                for (const uint32_t *r = rec; r < end; ++r) {
                    acc = nn_smlabb((uint32_t)(int32_t)xb[*r >> 16], *r, acc);
                }
            } else {
                if (nt > 0) {
                    acc = nn_smlabb((uint32_t)(int32_t)xb[o0], r0, acc);
                }
                if (nt > 1) {
                    acc = nn_smlabb((uint32_t)(int32_t)xb[o1], r1, acc);
                }
                if (nt > 2) {
                    acc = nn_smlabb((uint32_t)(int32_t)xb[o2], r2, acc);
                }
                if (nt > 3) {
                    acc = nn_smlabb((uint32_t)(int32_t)xb[o3], r3, acc);
                }
            }
            *op = rsh >= 0 ? (int8_t)nn_act_clamp(nn_requantize_r2(acc, mult, rnd, rsh), act_min, act_max, mode)
                           : nn_requant_out(acc, mult, rnd, out_offset, act_min, act_max);
        }
    }
}

NN_ALWAYS_INLINE void nn_dw_wp_channel_mode(const nn_sparse_ch_t *ch, const uint32_t *rec, const uint32_t *end,
                                            const int8_t *pad, int32_t c, int32_t n_ch, int32_t out_h,
                                            int32_t out_w, int32_t row_step, int32_t col_step, int32_t in_off,
                                            int8_t *out, int32_t out_offset, int32_t act_min, int32_t act_max,
                                            int32_t mode)
{
    switch (end - rec) {
    case 0:
        nn_dw_wp_channel(ch, rec, end, pad, c, n_ch, out_h, out_w, row_step, col_step, in_off, out, out_offset,
                         act_min, act_max, mode, 0);
        break;
    case 1:
        nn_dw_wp_channel(ch, rec, end, pad, c, n_ch, out_h, out_w, row_step, col_step, in_off, out, out_offset,
                         act_min, act_max, mode, 1);
        break;
    case 2:
        nn_dw_wp_channel(ch, rec, end, pad, c, n_ch, out_h, out_w, row_step, col_step, in_off, out, out_offset,
                         act_min, act_max, mode, 2);
        break;
    case 3:
        nn_dw_wp_channel(ch, rec, end, pad, c, n_ch, out_h, out_w, row_step, col_step, in_off, out, out_offset,
                         act_min, act_max, mode, 3);
        break;
    case 4:
        nn_dw_wp_channel(ch, rec, end, pad, c, n_ch, out_h, out_w, row_step, col_step, in_off, out, out_offset,
                         act_min, act_max, mode, 4);
        break;
    default:
        nn_dw_wp_channel(ch, rec, end, pad, c, n_ch, out_h, out_w, row_step, col_step, in_off, out, out_offset,
                         act_min, act_max, mode, -1);
        break;
    }
}

int nn_depthwise_conv2d_s8_wp(const nn_context_t *ctx, const nn_conv_params_t *p, const nn_quant_t *q,
                              const nn_dims_t *in_dims, const int8_t *in,
                              const nn_dims_t *filter_dims, const int8_t *filter,
                              const int32_t *bias, const nn_dims_t *out_dims, int8_t *out)
{
    if (!ctx || !p || !q || !in_dims || !in || !filter_dims || !filter || !out_dims || !out) {
        return NN_ERR_ARG;
    }
    const int32_t in_h = in_dims->h, in_w = in_dims->w, ch = in_dims->c;
    const int32_t f_h = filter_dims->h, f_w = filter_dims->w;
    const int32_t out_h = out_dims->h, out_w = out_dims->w;
    if (p->depth_multiplier != 1 || out_dims->c != ch || filter_dims->c != ch) {
        return NN_ERR_UNSUPPORTED;
    }
    const int32_t hp = (out_h - 1) * p->stride.h + (f_h - 1) * p->dilation.h + 1;
    const int32_t wp = (out_w - 1) * p->stride.w + (f_w - 1) * p->dilation.w + 1;
    if (!ctx->scratch || ctx->scratch_size < NN_DEPTHWISE_S8_WP_SCRATCH(ch, hp, wp) ||
        ((uintptr_t)ctx->scratch & 3u) != 0 || ((uintptr_t)filter & 3u) != 0 ||
        !nn_sparse_check_aux(ctx, ch, (uint32_t)(f_h * f_w), 1u)) {
        return NN_ERR_ARG;
    }
    const uint32_t *row_ptr = (const uint32_t *)ctx->aux;
    const uint32_t *records = (const uint32_t *)(const void *)filter;
    nn_sparse_ch_t *table = (nn_sparse_ch_t *)ctx->scratch;
    int8_t *pad = (int8_t *)(void *)(table + ch);
    nn_sparse_prepare_channels(table, row_ptr, bias, q, ch, p->output_offset);
    const int32_t mode = nn_act_mode(p->act_min, p->act_max);
    const int8_t zp = (int8_t)(-p->input_offset);
    for (int32_t b = 0; b < in_dims->n; ++b) {
        for (int32_t yp = 0; yp < hp; ++yp) {
            int8_t *row = pad + yp * wp * ch;
            const int32_t iy = yp - p->padding.h;
            if (iy < 0 || iy >= in_h) {
                memset(row, zp, (size_t)(wp * ch));
                continue;
            }
            const int32_t x0 = nn_min(nn_max(0, p->padding.w), wp);
            const int32_t x1 = nn_max(x0, nn_min(wp, p->padding.w + in_w));
            memset(row, zp, (size_t)(x0 * ch));
            memcpy(row + x0 * ch, in + ((b * in_h + iy) * in_w + (x0 - p->padding.w)) * ch, (size_t)((x1 - x0) * ch));
            memset(row + x1 * ch, zp, (size_t)((wp - x1) * ch));
        }
        const int32_t row_step = p->stride.h * wp * ch, col_step = p->stride.w * ch;
        int8_t *ob = out + b * out_h * out_w * ch;
        for (int32_t c = 0; c < ch; ++c) {
            const uint32_t *rec = records + row_ptr[c], *end = records + row_ptr[c + 1];
            if (mode == 0) {
                nn_dw_wp_channel_mode(&table[c], rec, end, pad, c, ch, out_h, out_w, row_step, col_step,
                                      p->input_offset, ob, p->output_offset, p->act_min, p->act_max, 0);
            } else if (mode == 1) {
                nn_dw_wp_channel_mode(&table[c], rec, end, pad, c, ch, out_h, out_w, row_step, col_step,
                                      p->input_offset, ob, p->output_offset, p->act_min, p->act_max, 1);
            } else {
                nn_dw_wp_channel_mode(&table[c], rec, end, pad, c, ch, out_h, out_w, row_step, col_step,
                                      p->input_offset, ob, p->output_offset, p->act_min, p->act_max, 2);
            }
        }
    }
    return NN_OK;
}
