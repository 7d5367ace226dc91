/*
 * nn_cmsisnn_common.h - private helpers of the cmsisnn wrappers: edgekws
 * structs -> CMSIS-NN structs, the scratch check, status codes.
 *
 * Why a check here and not only in the exporter: the exporter plans scratch
 * from a Python copy of CMSIS-NN's buffer-size rules, but the rule the device
 * really follows depends on the core (plain C / DSP / MVE) and on the
 * CMSIS-NN version it was built with. Asking CMSIS-NN's own
 * *_get_buffer_size at run time turns any disagreement into NN_ERR_ARG
 * instead of a buffer overrun.
 */
#ifndef EDGEKWS_NN_CMSISNN_COMMON_H
#define EDGEKWS_NN_CMSISNN_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "arm_nnfunctions.h"
#include "edgekws/nn_cmsisnn.h"

/* What the CMSIS-NN being compiled against offers, found by the build from its header (revision and
 * declarations: host/edgekws/export/kernels_cmsisnn.py:compile_definitions, firmware/cmake/cmsisnn.cmake).
 * No default: a build that did not look must not guess. */
#if !defined(EDGEKWS_CMSISNN_VERSION) || !defined(EDGEKWS_CMSISNN_HAS_FC_PER_CHANNEL) || \
    !defined(EDGEKWS_CMSISNN_HAS_GROUPED_CONV) || !defined(EDGEKWS_CMSISNN_VECTOR_SUM_ARGS)
#error "the build must define EDGEKWS_CMSISNN_VERSION, _HAS_FC_PER_CHANNEL, _HAS_GROUPED_CONV, _VECTOR_SUM_ARGS"
#endif

/* CMSIS-NN keeps some dimensions in uint16_t internally. */
#define NN_CMSIS_MAX_DIM 65535

static inline int nn_cmsis_dims_ok(const nn_dims_t *d)
{
    return d->n >= 1 && d->h >= 1 && d->w >= 1 && d->c >= 1 && d->n <= NN_CMSIS_MAX_DIM &&
           d->h <= NN_CMSIS_MAX_DIM && d->w <= NN_CMSIS_MAX_DIM && d->c <= NN_CMSIS_MAX_DIM;
}

static inline cmsis_nn_dims nn_cmsis_dims(const nn_dims_t *d)
{
    const cmsis_nn_dims r = {.n = d->n, .h = d->h, .w = d->w, .c = d->c};
    return r;
}

/* CMSIS-NN tiles are {w, h}; edgekws keeps {h, w}. */
static inline cmsis_nn_tile nn_cmsis_tile(nn_hw_t t)
{
    const cmsis_nn_tile r = {.w = t.w, .h = t.h};
    return r;
}

/* Strides and dilations >= 1, paddings >= 0: CMSIS-NN divides by the first and indexes with the others. */
static inline int nn_cmsis_window_ok(nn_hw_t stride, nn_hw_t padding, nn_hw_t dilation)
{
    return stride.h >= 1 && stride.w >= 1 && padding.h >= 0 && padding.w >= 0 && dilation.h >= 1 &&
           dilation.w >= 1 && stride.h <= NN_CMSIS_MAX_DIM && stride.w <= NN_CMSIS_MAX_DIM &&
           padding.h <= NN_CMSIS_MAX_DIM && padding.w <= NN_CMSIS_MAX_DIM && dilation.h <= NN_CMSIS_MAX_DIM &&
           dilation.w <= NN_CMSIS_MAX_DIM;
}

/* CMSIS-NN's quantization structs hold non-const pointers; it only reads through them. */
static inline cmsis_nn_per_channel_quant_params nn_cmsis_quant(const nn_quant_t *q)
{
    const cmsis_nn_per_channel_quant_params r = {.multiplier = (int32_t *)(uintptr_t)q->multiplier,
                                                 .shift = (int32_t *)(uintptr_t)q->shift};
    return r;
}

/* The CMSIS-NN context over the layer's planned scratch; NN_ERR_ARG when `need` bytes do not fit. */
static inline int nn_cmsis_context(const nn_context_t *ctx, int32_t need, cmsis_nn_context *out)
{
    if (need < 0) {
        return NN_ERR_ARG;
    }
    if (need > 0 && (ctx->scratch == NULL || ctx->scratch_size < (uint32_t)need ||
                     ((uintptr_t)ctx->scratch & 3u) != 0u)) {
        return NN_ERR_ARG;
    }
    out->buf = ctx->scratch;
    out->size = ctx->scratch_size > (uint32_t)INT32_MAX ? INT32_MAX : (int32_t)ctx->scratch_size;
    return NN_OK;
}

static inline int nn_cmsis_status(arm_cmsis_nn_status s)
{
    switch (s) {
    case ARM_CMSIS_NN_SUCCESS:
        return NN_OK;
    case ARM_CMSIS_NN_NO_IMPL_ERROR:
        return NN_ERR_UNSUPPORTED;
    default:
        return NN_ERR_ARG;
    }
}

#endif /* EDGEKWS_NN_CMSISNN_COMMON_H */
