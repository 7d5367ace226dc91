/* nn_fully_connected_s8_cmsisnn.c - int8 fully connected through arm_fully_connected_s8 when every unit
 * shares one requantization (TFLite's per-tensor FC), arm_fully_connected_per_channel_s8 otherwise.
 * Weights [units, depth] as TFLite stores them; batches = in_dims->n. */
#include "nn_cmsisnn_common.h"

static int nn_cmsis_per_tensor(const nn_quant_t *q, int32_t units)
{
    for (int32_t u = 1; u < units; ++u) {
        if (q->multiplier[u] != q->multiplier[0] || q->shift[u] != q->shift[0]) {
            return 0;
        }
    }
    return 1;
}

int nn_fully_connected_s8_cmsisnn(const nn_context_t *ctx, const nn_fc_params_t *p, const nn_quant_t *q,
                                  const nn_dims_t *in_dims, const int8_t *in,
                                  const nn_dims_t *filter_dims, const int8_t *filter,
                                  const int32_t *bias, const nn_dims_t *out_dims, int8_t *out)
{
    if (!ctx || !p || !q || !q->multiplier || !q->shift || !in_dims || !in || !filter_dims || !filter ||
        !out_dims || !out) {
        return NN_ERR_ARG;
    }
    const int32_t batches = in_dims->n;
    const int32_t depth = filter_dims->c;
    const int32_t units = filter_dims->n;
    if (batches < 1 || depth < 1 || units < 1 || in_dims->c != depth || out_dims->c != units ||
        out_dims->n != batches) {
        return NN_ERR_ARG;
    }
    const cmsis_nn_fc_params fp = {
        .input_offset = p->input_offset,
        .filter_offset = 0, /* int8 weights are symmetric */
        .output_offset = p->output_offset,
        .activation = {.min = p->act_min, .max = p->act_max},
    };
    /* CMSIS-NN's FC dims: input [batches, depth], filter [n = depth, c = units], output [batches, units]. */
    const cmsis_nn_dims id = {.n = batches, .h = 1, .w = 1, .c = depth};
    const cmsis_nn_dims fd = {.n = depth, .h = 1, .w = 1, .c = units};
    const cmsis_nn_dims od = {.n = batches, .h = 1, .w = 1, .c = units};
    const cmsis_nn_dims bd = {.n = 1, .h = 1, .w = 1, .c = units};
    const int32_t need = arm_fully_connected_s8_get_buffer_size(&fd);
    cmsis_nn_context cc;
    const int rc = nn_cmsis_context(ctx, need, &cc);
    if (rc != NN_OK) {
        return rc;
    }
#if defined(ARM_MATH_MVEI)
    /* Helium kernels read per-unit sums of the weights (times the input offset, plus bias) from the buffer. */
    if (need > 0) {
        (void)arm_vector_sum_s8((int32_t *)cc.buf, depth, units, filter, p->input_offset, 0, bias);
    }
#endif
    if (nn_cmsis_per_tensor(q, units)) {
        const cmsis_nn_per_tensor_quant_params qt = {.multiplier = q->multiplier[0], .shift = q->shift[0]};
        return nn_cmsis_status(arm_fully_connected_s8(&cc, &fp, &qt, &id, in, &fd, filter, &bd, bias, &od, out));
    }
    const cmsis_nn_per_channel_quant_params qp = nn_cmsis_quant(q);
    return nn_cmsis_status(
        arm_fully_connected_per_channel_s8(&cc, &fp, &qp, &id, in, &fd, filter, &bd, bias, &od, out));
}
