/* runner.c - walks the generated layer table; all shapes, offsets and kernels were chosen on the host. */
#include <stddef.h>

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

static int run_layer(const nn_model_t *m, const nn_layer_t *l)
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

int nn_invoke(const nn_model_t *m, nn_counter_fn counter, uint32_t *layer_ticks)
{
    if (!m || !m->arena || (m->num_layers && !m->layers)) {
        return NN_ERR_ARG;
    }
    for (uint32_t i = 0; i < m->num_layers; ++i) {
        const uint32_t t0 = counter ? counter() : 0u;
        const int rc = run_layer(m, &m->layers[i]);
        const uint32_t t1 = counter ? counter() : 0u;
        if (layer_ticks) {
            layer_ticks[i] = t1 - t0;
        }
        if (rc != NN_OK) {
            return rc;
        }
    }
    return NN_OK;
}
