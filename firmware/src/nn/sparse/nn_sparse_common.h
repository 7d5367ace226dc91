/*
 * nn_sparse_common.h - shared pieces of the sparse conv / FC kernels (internal).
 *
 * Compressed format (written by host/edgekws/export/kernels.py):
 *   aux     = uint32 row_ptr[out_c + 1]: records of output channel oc are
 *             records[row_ptr[oc] .. row_ptr[oc + 1]) (in uint32 words), then
 *             uint32 n_words, the number of record words stored (== row_ptr[out_c]).
 *   weights = the records, 4-byte aligned:
 *     "wp"    one uint32 per nonzero weight: (byte offset of its tap in the
 *             4-pixel column block) << 16 | (uint16)(int16)weight, so SMLABB /
 *             SMLATB read the weight straight from the record's bottom half;
 *     "block" two uint32 per nonzero 1x4 block: the 4 weights as [w0 w2 w1 w3]
 *             (SXTB16 / SXTB16 ROR 8 give (w0,w1), (w2,w3)), then the byte
 *             offset of the block in the 4-pixel column block.
 */
#ifndef EDGEKWS_NN_SPARSE_COMMON_H
#define EDGEKWS_NN_SPARSE_COMMON_H

#include "../simd/nn_simd_common.h"
#include "edgekws/nn_sparse.h"

/*
 * The aux blob must describe exactly the records array it travels with:
 *   aux_size == (out_c + 2) * 4, row_ptr[0] == 0, row_ptr non-decreasing,
 *   each channel's span <= max_per_ch words and a multiple of `step` words
 *   ("block" records are 2 words), and row_ptr[out_c] == n_words, the
 *   exporter's count of stored record words (the trailer after row_ptr).
 * max_per_ch comes from the layer's dense shape (wp: f_h*f_w*c taps, block:
 * 2 * K4/4 words, depthwise: f_h*f_w taps), so even a self-consistent but
 * corrupted blob cannot make a kernel read more than the dense layer's worth.
 */
static inline int nn_sparse_check_aux(const nn_context_t *ctx, int32_t out_c, uint32_t max_per_ch, uint32_t step)
{
    if (!ctx || !ctx->aux || out_c <= 0 || step == 0u || ((uintptr_t)ctx->aux & 3u) != 0 ||
        ctx->aux_size != ((uint32_t)out_c + 2u) * 4u) {
        return 0;
    }
    const uint32_t *rp = (const uint32_t *)ctx->aux;
    const uint32_t n_words = rp[out_c + 1];
    if (rp[0] != 0u || rp[out_c] != n_words || n_words > (uint32_t)out_c * max_per_ch) {
        return 0;
    }
    for (int32_t i = 0; i < out_c; ++i) {
        if (rp[i] > rp[i + 1] || rp[i + 1] - rp[i] > max_per_ch || (rp[i + 1] - rp[i]) % step != 0u) {
            return 0;
        }
    }
    return 1;
}

/* Per output channel, prepared once per call: the accumulator's start, the requantization
 * constants of nn_requantize_r2() (rsh < 0: general path, rnd then holds the shift) and
 * the end of the channel's records. */
typedef struct {
    int32_t bias, mult, rnd, rsh;
    uint32_t end;
} nn_sparse_ch_t;

static inline void nn_sparse_prepare_channels(nn_sparse_ch_t *t, const uint32_t *row_ptr, const int32_t *bias,
                                              const nn_quant_t *q, int32_t out_c, int32_t out_offset)
{
    for (int32_t oc = 0; oc < out_c; ++oc) {
        const int32_t shift = q->shift[oc];
        t[oc].bias = bias ? bias[oc] : 0;
        t[oc].mult = q->multiplier[oc];
        t[oc].end = row_ptr[oc + 1];
        if (shift <= -2 && shift >= -24) {
            t[oc].rsh = ~shift;
            t[oc].rnd = (int32_t)((UINT32_C(1) << t[oc].rsh) >> 1) + (int32_t)((uint32_t)out_offset << t[oc].rsh);
        } else {
            t[oc].rsh = -1;
            t[oc].rnd = shift;
        }
    }
}

/* Four pixels' columns (k4 int16 each, contiguous) -> [k][pixel] order (for "wp"). */
static inline void nn_interleave_k_pix4(int16_t *dst, const int16_t *cols, int32_t k4)
{
    const int16_t *c0 = cols, *c1 = cols + k4, *c2 = cols + 2 * k4, *c3 = cols + 3 * k4;
    for (int32_t k = 0; k < k4; ++k) {
        dst[4 * k] = c0[k];
        dst[4 * k + 1] = c1[k];
        dst[4 * k + 2] = c2[k];
        dst[4 * k + 3] = c3[k];
    }
}

/* Four pixels' columns -> [k/4][pixel][k%4] order (for "block"): 8-byte moves. */
static inline void nn_interleave_blk_pix4(int16_t *dst, const int16_t *cols, int32_t k4)
{
    for (int32_t kb = 0; kb < k4; kb += 4) {
        for (int32_t p = 0; p < 4; ++p) {
            const int16_t *src = cols + p * k4 + kb;
            nn_st32(dst, nn_ld32a(src));
            nn_st32(dst + 2, nn_ld32a(src + 2));
            dst += 4;
        }
    }
}

/*
 * All output channels for a single column (a batch-1 fully connected layer): the
 * same records, only pixel 0's values read (wp: one LDRSH + SMLABB per record;
 * block: one LDRD + 2 SMLAD per 4 weights).
 */
NN_ALWAYS_INLINE void nn_sparse_channels1(int kind, int32_t mode, const nn_sparse_ch_t *ch,
                                          const uint32_t *records, const uint32_t *rec, const int16_t *cols,
                                          int32_t out_c, int8_t *op, int32_t out_offset, int32_t act_min,
                                          int32_t act_max)
{
    const uint8_t *base = (const uint8_t *)cols;
    for (int32_t oc = 0; oc < out_c; ++oc, ++ch) {
        const uint32_t *end = records + ch->end;
        int32_t a0 = ch->bias;
        if (kind == 0) {
            for (; rec < end; ++rec) {
                const uint32_t r = *rec;
                int16_t x;
                memcpy(&x, base + (r >> 16), sizeof x);
                a0 = nn_smlabb((uint32_t)(int32_t)x, r, a0);
            }
        } else {
            for (; rec < end; rec += 2) {
                const uint32_t w = rec[0];
                const uint8_t *x = base + rec[1];
                a0 = nn_smlad(nn_sxtb16(w), nn_ld32a(x), a0);
                a0 = nn_smlad(nn_sxtb16_ror8(w), nn_ld32a(x + 4), a0);
            }
        }
        rec = end;
        op[oc] = ch->rsh >= 0
            ? (int8_t)nn_act_clamp(nn_requantize_r2(a0, ch->mult, ch->rnd, ch->rsh), act_min, act_max, mode)
            : nn_requant_out(a0, ch->mult, ch->rnd, out_offset, act_min, act_max);
    }
}

/*
 * All output channels of one 4-pixel group. kind: 0 "wp", 1 "block"; mode: the
 * activation mode (nn_act_mode). Both are compile-time constants at every call,
 * so each (kind, mode) becomes straight code with the accumulators in registers.
 *   "wp":    per record: the 4 pixels' int16 values of its tap ([k][pixel]
 *            columns, one LDRD) times the weight in the record's bottom half.
 *   "block": per record: weights [w0 w2 w1 w3] -> SXTB16 pairs (w0,w1), (w2,w3),
 *            times each pixel's 4 values ([k/4][pixel][k%4] columns).
 */
NN_ALWAYS_INLINE void nn_sparse_channels(int kind, int32_t mode, const nn_sparse_ch_t *ch,
                                         const uint32_t *records, const uint32_t *rec, const int16_t *cols,
                                         int32_t out_c, int32_t n, int8_t *op, int32_t out_offset, int32_t act_min,
                                         int32_t act_max)
{
    const uint8_t *base = (const uint8_t *)cols;
    const nn_sparse_ch_t *const ch_end = ch + out_c;
    for (; ch < ch_end; ++ch, ++op) {
        const uint32_t *end = records + ch->end;
        int32_t a0 = ch->bias, a1 = ch->bias, a2 = ch->bias, a3 = ch->bias;
        if (kind == 0) {
#if NN_DSP_ACLE
            /* 8 instructions per record: LDR, ADD (offset from the record's top half), LDRD, 4 x SMLAxB, and the
             * loop test once per 2 records. */
            if ((end - rec) & 1) {
                uint32_t r, t, x01, x23;
                __asm__("ldr    %[r], [%[rec]], #4\n\t"
                        "add    %[t], %[base], %[r], lsr #16\n\t"
                        "ldrd   %[x01], %[x23], [%[t]]\n\t"
                        "smlabb %[a0], %[x01], %[r], %[a0]\n\t"
                        "smlatb %[a1], %[x01], %[r], %[a1]\n\t"
                        "smlabb %[a2], %[x23], %[r], %[a2]\n\t"
                        "smlatb %[a3], %[x23], %[r], %[a3]\n\t"
                        : [rec] "+r"(rec), [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [r] "=&r"(r),
                          [t] "=&r"(t), [x01] "=&r"(x01), [x23] "=&r"(x23)
                        : [base] "r"(base)
                        : "memory");
            }
            if (rec != end) {
                uint32_t r, t, x01, x23;
                __asm__("1:\n\t"
                        "ldr    %[r], [%[rec]], #4\n\t"
                        "add    %[t], %[base], %[r], lsr #16\n\t"
                        "ldrd   %[x01], %[x23], [%[t]]\n\t"
                        "smlabb %[a0], %[x01], %[r], %[a0]\n\t"
                        "smlatb %[a1], %[x01], %[r], %[a1]\n\t"
                        "smlabb %[a2], %[x23], %[r], %[a2]\n\t"
                        "smlatb %[a3], %[x23], %[r], %[a3]\n\t"
                        "ldr    %[r], [%[rec]], #4\n\t"
                        "add    %[t], %[base], %[r], lsr #16\n\t"
                        "ldrd   %[x01], %[x23], [%[t]]\n\t"
                        "smlabb %[a0], %[x01], %[r], %[a0]\n\t"
                        "smlatb %[a1], %[x01], %[r], %[a1]\n\t"
                        "smlabb %[a2], %[x23], %[r], %[a2]\n\t"
                        "smlatb %[a3], %[x23], %[r], %[a3]\n\t"
                        "cmp    %[rec], %[end]\n\t"
                        "bne    1b\n\t"
                        : [rec] "+r"(rec), [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [r] "=&r"(r),
                          [t] "=&r"(t), [x01] "=&r"(x01), [x23] "=&r"(x23)
                        : [base] "r"(base), [end] "r"(end)
                        : "cc", "memory");
            }
#else
            for (; rec < end; ++rec) {
                const uint32_t r = *rec;
                const uint8_t *x = base + (r >> 16);
                const uint32_t x01 = nn_ld32a(x), x23 = nn_ld32a(x + 4);
                a0 = nn_smlabb(x01, r, a0);
                a1 = nn_smlatb(x01, r, a1);
                a2 = nn_smlabb(x23, r, a2);
                a3 = nn_smlatb(x23, r, a3);
            }
#endif
        } else {
            for (; rec < end; rec += 2) {
                const uint32_t w = rec[0];
                const uint8_t *x = base + rec[1];
                const uint32_t wl = nn_sxtb16(w), wh = nn_sxtb16_ror8(w);
                a0 = nn_smlad(wl, nn_ld32a(x), a0);
                a0 = nn_smlad(wh, nn_ld32a(x + 4), a0);
                a1 = nn_smlad(wl, nn_ld32a(x + 8), a1);
                a1 = nn_smlad(wh, nn_ld32a(x + 12), a1);
                a2 = nn_smlad(wl, nn_ld32a(x + 16), a2);
                a2 = nn_smlad(wh, nn_ld32a(x + 20), a2);
                a3 = nn_smlad(wl, nn_ld32a(x + 24), a3);
                a3 = nn_smlad(wh, nn_ld32a(x + 28), a3);
            }
        }
        rec = end;
        if (ch->rsh >= 0 && n == NN_PIX4) {
            const int32_t m = ch->mult, rnd = ch->rnd, rsh = ch->rsh;
            op[0] = (int8_t)nn_act_clamp(nn_requantize_r2(a0, m, rnd, rsh), act_min, act_max, mode);
            op[out_c] = (int8_t)nn_act_clamp(nn_requantize_r2(a1, m, rnd, rsh), act_min, act_max, mode);
            op[2 * out_c] = (int8_t)nn_act_clamp(nn_requantize_r2(a2, m, rnd, rsh), act_min, act_max, mode);
            op[3 * out_c] = (int8_t)nn_act_clamp(nn_requantize_r2(a3, m, rnd, rsh), act_min, act_max, mode);
        } else {
            const int32_t acc[4] = {a0, a1, a2, a3};
            for (int32_t j = 0; j < n; ++j) {
                op[j * out_c] = ch->rsh >= 0
                    ? (int8_t)nn_act_clamp(nn_requantize_r2(acc[j], ch->mult, ch->rnd, ch->rsh), act_min, act_max, mode)
                    : nn_requant_out(acc[j], ch->mult, ch->rnd, out_offset, act_min, act_max);
            }
        }
    }
}

/*
 * The conv driver shared by "wp" and "block": 4 output pixels at a time, their
 * im2col columns expanded (input offset added, padding = 0) and interleaved,
 * then every output channel runs its records over them.
 * Scratch (NN_CONV2D_S8_SPARSE_SCRATCH): the channel table (20 bytes per output channel),
 * then 4 plain columns + 4 interleaved (16 * K4 bytes).
 */
NN_ALWAYS_INLINE int nn_sparse_conv_run(const nn_context_t *ctx, const nn_conv_params_t *p, const nn_quant_t *q,
                                        const nn_dims_t *in_dims, const int8_t *in, const nn_dims_t *filter_dims,
                                        const int8_t *filter, const int32_t *bias, const nn_dims_t *out_dims,
                                        int8_t *out, int kind)
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
    if (k4 > NN_SPARSE_MAX_K4) {
        return NN_ERR_UNSUPPORTED;
    }
    if (!ctx->scratch || ctx->scratch_size < NN_CONV2D_S8_SPARSE_SCRATCH(k4, out_c) || ((uintptr_t)ctx->scratch & 3u) != 0 ||
        ((uintptr_t)filter & 3u) != 0 ||
        !nn_sparse_check_aux(ctx, out_c, kind == 0 ? (uint32_t)(f_h * f_w * in_dims->c) : (uint32_t)k4 / 2u,
                             kind == 0 ? 1u : 2u)) {
        return NN_ERR_ARG;
    }
    const uint32_t *row_ptr = (const uint32_t *)ctx->aux;
    const uint32_t *records = (const uint32_t *)(const void *)filter;
    nn_sparse_ch_t *table = (nn_sparse_ch_t *)ctx->scratch;
    int16_t *cols = (int16_t *)(void *)(table + out_c);
    int16_t *mixed = cols + 4 * k4;
    const int32_t n_pix = out_h * out_w;
    const int32_t mode = nn_act_mode(p->act_min, p->act_max);
    nn_sparse_prepare_channels(table, row_ptr, bias, q, out_c, p->output_offset);
    for (int32_t b = 0; b < in_dims->n; ++b) {
        int8_t *ob = out + b * n_pix * out_c;
        for (int32_t i = 0; i < n_pix; i += 4) {
            const int32_t n = n_pix - i < 4 ? n_pix - i : 4;
            for (int32_t j = 0; j < 4; ++j) {
                if (j < n) {
                    const int32_t pix = i + j;
                    nn_im2col_s16(cols + j * k4, p, in_dims, in, f_h, f_w, b, pix / out_w, pix % out_w, k4);
                } else {
                    nn_zero_s16(cols + j * k4, k4);
                }
            }
            if (kind == 0) {
                nn_interleave_k_pix4(mixed, cols, k4);
            } else {
                nn_interleave_blk_pix4(mixed, cols, k4);
            }
            int8_t *op = ob + i * out_c;
            if (n == 1) {
                nn_sparse_channels1(kind, mode, table, records, records + row_ptr[0], mixed, out_c, op,
                                    p->output_offset, p->act_min, p->act_max);
            } else if (mode == 0) {
                nn_sparse_channels(kind, 0, table, records, records + row_ptr[0], mixed, out_c, n, op,
                                   p->output_offset, p->act_min, p->act_max);
            } else if (mode == 1) {
                nn_sparse_channels(kind, 1, table, records, records + row_ptr[0], mixed, out_c, n, op,
                                   p->output_offset, p->act_min, p->act_max);
            } else {
                nn_sparse_channels(kind, 2, table, records, records + row_ptr[0], mixed, out_c, n, op,
                                   p->output_offset, p->act_min, p->act_max);
            }
        }
    }
    return NN_OK;
}

#endif /* EDGEKWS_NN_SPARSE_COMMON_H */
