/* nn_fully_connected_s8.c - int8 fully connected (batches = in_dims->n, depth = in_dims->c). */
#include "edgekws/nn.h"
#include "edgekws/nn_math.h"

int nn_fully_connected_s8_ref(const nn_context_t *ctx, const nn_fc_params_t *p, const nn_quant_t *q,
                              const nn_dims_t *in_dims, const int8_t *in,
                              const nn_dims_t *filter_dims, const int8_t *filter,
                              const int32_t *bias, const nn_dims_t *out_dims, int8_t *out)
{
    (void)ctx;
    if (!p || !q || !in_dims || !in || !filter_dims || !filter || !out_dims || !out) {
        return NN_ERR_ARG;
    }
    const int32_t batches = in_dims->n;
    const int32_t depth = filter_dims->c;
    const int32_t units = filter_dims->n;
    if (in_dims->c != depth || out_dims->c != units) {
        return NN_ERR_ARG;
    }
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *ip = in + b * depth;
        for (int32_t u = 0; u < units; ++u) {
            const int8_t *fp = filter + u * depth;
            int32_t acc = 0;
            for (int32_t d = 0; d < depth; ++d) {
                acc += (int32_t)fp[d] * ((int32_t)ip[d] + p->input_offset);
            }
            if (bias) {
                acc += bias[u];
            }
            acc = nn_requantize(acc, q->multiplier[u], q->shift[u]);
            acc += p->output_offset;
            out[b * units + u] = (int8_t)nn_clamp(acc, p->act_min, p->act_max);
        }
    }
    return NN_OK;
}
