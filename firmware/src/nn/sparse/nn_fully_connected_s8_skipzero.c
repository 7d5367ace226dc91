/* nn_fully_connected_s8_skipzero.c - int8 fully connected that skips zero weights (naive sparse baseline). */
#include "edgekws/nn_sparse.h"
#include "edgekws/nn_math.h"

int nn_fully_connected_s8_skipzero(const nn_context_t *ctx, const nn_fc_params_t *p, const nn_quant_t *q,
                                   const nn_dims_t *in_dims, const int8_t *in,
                                   const nn_dims_t *filter_dims, const int8_t *filter,
                                   const int32_t *bias, const nn_dims_t *out_dims, int8_t *out)
{
    (void)ctx;
    if (!p || !q || !in_dims || !in || !filter_dims || !filter || !out_dims || !out) {
        return NN_ERR_ARG;
    }
    const int32_t depth = filter_dims->c, units = filter_dims->n;
    if (in_dims->c != depth || out_dims->c != units) {
        return NN_ERR_ARG;
    }
    for (int32_t b = 0; b < in_dims->n; ++b) {
        const int8_t *ip = in + b * depth;
        for (int32_t u = 0; u < units; ++u) {
            const int8_t *fp = filter + u * depth;
            int32_t acc = bias ? bias[u] : 0;
            for (int32_t d = 0; d < depth; ++d) {
                const int32_t w = fp[d];
                if (w != 0) {
                    acc += w * ((int32_t)ip[d] + p->input_offset);
                }
            }
            acc = nn_requantize(acc, q->multiplier[u], q->shift[u]) + p->output_offset;
            out[b * units + u] = (int8_t)nn_clamp(acc, p->act_min, p->act_max);
        }
    }
    return NN_OK;
}
