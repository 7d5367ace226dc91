/* runner.c - walks the generated layer table; all shapes, offsets and kernels were chosen on the host. */
#include <stddef.h>
#include <string.h>

#include "edgekws/nn.h"

int8_t *nn_input(const nn_model_t *m)
{
    return m ? (int8_t *)(m->arena + m->input_offset) : NULL;
}

const int8_t *nn_output(const nn_model_t *m)
{
    return m ? (const int8_t *)(m->arena + m->output_offset) : NULL;
}

uint32_t nn_input_size(const nn_model_t *m) { return m ? m->input_size : 0u; }
uint32_t nn_output_size(const nn_model_t *m) { return m ? m->output_size : 0u; }
uint32_t nn_num_layers(const nn_model_t *m) { return m ? m->num_layers : 0u; }

static const nn_layer_t *layer_at(const nn_model_t *m, uint32_t i)
{
    return (m && i < m->num_layers) ? &m->layers[i] : NULL;
}

const char *nn_layer_name(const nn_model_t *m, uint32_t i)
{
    const nn_layer_t *l = layer_at(m, i);
    return l ? l->name : NULL;
}

const char *nn_layer_op(const nn_model_t *m, uint32_t i)
{
    const nn_layer_t *l = layer_at(m, i);
    return l ? l->op_name : NULL;
}

const char *nn_layer_backend(const nn_model_t *m, uint32_t i)
{
    const nn_layer_t *l = layer_at(m, i);
    return l ? l->backend : NULL;
}

/* Always inlined: the timed loop (nn_invoke) compiles as it did before the checked loop existed. */
static inline __attribute__((always_inline)) int run_layer(const nn_model_t *m, const nn_layer_t *l)
{
    uint8_t *a = m->arena;
    const int8_t *in1 = (const int8_t *)(a + l->in1_offset);
    const int8_t *in2 = (const int8_t *)(a + l->in2_offset);
    int8_t *out = (int8_t *)(a + l->out_offset);
    const nn_context_t ctx = {l->scratch_size ? (void *)(a + l->scratch_offset) : NULL, l->scratch_size,
                              l->aux, l->aux_size};
    switch (l->op) {
    case NN_OP_CONV_2D:
    case NN_OP_DEPTHWISE_CONV_2D:
        return l->kernel.conv ? l->kernel.conv(&ctx, &l->params.conv, &l->quant, &l->in1_dims, in1,
                                               &l->filter_dims, l->weights, l->bias, &l->out_dims, out)
                              : NN_ERR_ARG;
    case NN_OP_FULLY_CONNECTED:
        return l->kernel.fc ? l->kernel.fc(&ctx, &l->params.fc, &l->quant, &l->in1_dims, in1,
                                           &l->filter_dims, l->weights, l->bias, &l->out_dims, out)
                            : NN_ERR_ARG;
    case NN_OP_AVERAGE_POOL_2D:
    case NN_OP_MAX_POOL_2D:
        return l->kernel.pool ? l->kernel.pool(&ctx, &l->params.pool, &l->in1_dims, in1, &l->out_dims, out)
                              : NN_ERR_ARG;
    case NN_OP_ADD:
        return l->kernel.add ? l->kernel.add(&ctx, &l->params.add, &l->in1_dims, in1, &l->in2_dims, in2,
                                             &l->out_dims, out)
                             : NN_ERR_ARG;
    case NN_OP_SOFTMAX:
        return l->kernel.softmax ? l->kernel.softmax(&ctx, &l->params.softmax,
                                                     l->out_dims.n * l->out_dims.h * l->out_dims.w,
                                                     l->out_dims.c, in1, out)
                                 : NN_ERR_ARG;
    case NN_OP_RESHAPE:
        return NN_OK; /* output aliases input in the arena plan */
    default:
        return NN_ERR_UNSUPPORTED;
    }
}

static uint32_t dims_count(const nn_dims_t *d)
{
    return (uint32_t)d->n * (uint32_t)d->h * (uint32_t)d->w * (uint32_t)d->c;
}

/* Index of the layer whose input tensor holds the logits: a final SOFTMAX; none (num_layers) otherwise. */
static uint32_t softmax_layer(const nn_model_t *m)
{
    if (m->num_layers == 0u) {
        return 0u;
    }
    const uint32_t last = m->num_layers - 1u;
    return m->layers[last].op == NN_OP_SOFTMAX ? last : m->num_layers;
}

uint32_t nn_logits_size(const nn_model_t *m)
{
    if (!m || !m->layers || m->num_layers == 0u) {
        return 0u;
    }
    const uint32_t s = softmax_layer(m);
    return s < m->num_layers ? dims_count(&m->layers[s].in1_dims) : dims_count(&m->layers[m->num_layers - 1u].out_dims);
}

uint32_t nn_layer_output_size(const nn_model_t *m, uint32_t i)
{
    const nn_layer_t *l = layer_at(m, i);
    return l ? dims_count(&l->out_dims) : 0u;
}

#if defined(EDGEKWS_MUTATE_LAYER)
/* Test-only fault injection (tests/test_layer_check.py): NEVER part of a normal build. Only an image
 * compiled with -DEDGEKWS_MUTATE_LAYER=i (and optionally -DEDGEKWS_MUTATE_CHANNEL=c, default 0)
 * contains it: after layer i's kernel returns, every element of output channel c (NHWC, innermost
 * axis) is moved by one LSB (+1, or -1 where it is 127), i.e. an off-by-one kernel in one channel.
 * The self-test must name that layer; the symbol nn_mutation_planted lets a test prove that a
 * normal image does not carry it. */
#ifndef EDGEKWS_MUTATE_CHANNEL
#define EDGEKWS_MUTATE_CHANNEL 0
#endif
const uint32_t nn_mutation_planted = (uint32_t)(EDGEKWS_MUTATE_LAYER);

static void mutate_output(const nn_model_t *m, uint32_t i)
{
    const nn_layer_t *l = &m->layers[i];
    /* read through volatile: the symbol stays in the image (--gc-sections) for the tests to find */
    if (i != *(const volatile uint32_t *)&nn_mutation_planted || l->out_dims.c <= (int32_t)(EDGEKWS_MUTATE_CHANNEL)) {
        return;
    }
    int8_t *out = (int8_t *)(m->arena + l->out_offset);
    const uint32_t n = dims_count(&l->out_dims);
    for (uint32_t k = (uint32_t)(EDGEKWS_MUTATE_CHANNEL); k < n; k += (uint32_t)l->out_dims.c) {
        out[k] = (int8_t)(out[k] == 127 ? 126 : out[k] + 1);
    }
}
#endif

/* One layer between two counter readings; the planted mutation (test builds only) belongs to the
 * kernel's time, as a faulty kernel's work would. Forced inline so both loops cost what one
 * hand-written loop does (a call here added ~12 instructions per layer to the inference total). */
static inline __attribute__((always_inline)) int run_timed(const nn_model_t *m, uint32_t i, nn_counter_fn counter, uint32_t *layer_ticks)
{
    const uint32_t t0 = counter ? counter() : 0u;
    const int rc = run_layer(m, &m->layers[i]);
#if defined(EDGEKWS_MUTATE_LAYER)
    if (rc == NN_OK) {
        mutate_output(m, i);
    }
#endif
    const uint32_t t1 = counter ? counter() : 0u;
    if (layer_ticks) {
        layer_ticks[i] = t1 - t0;
    }
    return rc;
}

int nn_invoke_checked(const nn_model_t *m, nn_counter_fn counter, uint32_t *layer_ticks, const nn_check_t *check)
{
    if (!check) {
        return nn_invoke(m, counter, layer_ticks);
    }
    if (!m || !m->arena || (m->num_layers && !m->layers) || !check->crc ||
        (check->logits && check->logits_size < nn_logits_size(m))) {
        return NN_ERR_ARG;
    }
    /* The logits are complete once the layer before the softmax has run (a RESHAPE may alias them). */
    const uint32_t sm = softmax_layer(m);
    const uint32_t logits_after = sm < m->num_layers ? (sm == 0u ? 0u : sm - 1u) : m->num_layers - 1u;
    if (check->logits && sm == 0u && m->num_layers > 0u) { /* only a softmax: its input is the logits */
        memcpy(check->logits, m->arena + m->layers[0].in1_offset, dims_count(&m->layers[0].in1_dims));
    }
    for (uint32_t i = 0; i < m->num_layers; ++i) {
        const int rc = run_timed(m, i, counter, layer_ticks);
        if (rc != NN_OK) {
            return rc;
        }
        /* The checks run after t1: they are in no layer's count. */
        const nn_layer_t *l = &m->layers[i];
        if (check->layer_crc) {
            check->layer_crc[i] = check->crc(0u, m->arena + l->out_offset, dims_count(&l->out_dims));
        }
        if (check->logits && i == logits_after && sm != 0u) {
            const uint32_t off = sm < m->num_layers ? m->layers[sm].in1_offset : l->out_offset;
            memcpy(check->logits, m->arena + off, nn_logits_size(m));
        }
    }
    return NN_OK;
}

/* The timed path: the same loop without any checking code, so its counts are those of a runner
 * without the layer check (the self-test and the server time this one). */
int nn_invoke(const nn_model_t *m, nn_counter_fn counter, uint32_t *layer_ticks)
{
    if (!m || !m->arena || (m->num_layers && !m->layers)) {
        return NN_ERR_ARG;
    }
    for (uint32_t i = 0; i < m->num_layers; ++i) {
        const int rc = run_timed(m, i, counter, layer_ticks);
        if (rc != NN_OK) {
            return rc;
        }
    }
    return NN_OK;
}
