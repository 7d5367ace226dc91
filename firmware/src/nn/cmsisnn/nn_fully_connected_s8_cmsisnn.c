/* nn_fully_connected_s8_cmsisnn.c - int8 fully connected through arm_fully_connected_s8 when every unit
 * shares one requantization (TFLite's per-tensor FC); per-channel FC through
 * arm_fully_connected_per_channel_s8 where the library has it (V.16.3.0 and later), else by runs of units
 * that share a multiplier and shift, one arm_fully_connected_s8 call per run and batch (the same
 * accumulation and requantization per unit, so the same bytes). Weights [units, depth] as TFLite stores
 * them; batches = in_dims->n. */
#include "nn_cmsisnn_common.h"

static int nn_cmsis_same_quant(const nn_quant_t *q, int32_t a, int32_t b)
{
    return q->multiplier[a] == q->multiplier[b] && q->shift[a] == q->shift[b];
}

/* Helium kernels read per-unit sums of `rows` weight rows from the buffer; the call's arguments changed
 * twice (EDGEKWS_CMSISNN_VECTOR_SUM_ARGS). Before V.17 the kernel adds bias and input offset itself. */
static void nn_cmsis_vector_sums(const cmsis_nn_context *cc, int32_t depth, int32_t rows, const int8_t *filter,
                                 int32_t input_offset, const int32_t *bias)
{
#if defined(ARM_MATH_MVEI)
    if (cc->buf != NULL) {
#if EDGEKWS_CMSISNN_VECTOR_SUM_ARGS == 7
        (void)arm_vector_sum_s8((int32_t *)cc->buf, depth, rows, filter, input_offset, 0, bias);
#elif EDGEKWS_CMSISNN_VECTOR_SUM_ARGS == 6
        (void)input_offset;
        (void)bias;
        (void)arm_vector_sum_s8((int32_t *)cc->buf, depth, rows, filter, 0, NULL);
#else
        (void)input_offset;
        (void)bias;
        (void)arm_vector_sum_s8((int32_t *)cc->buf, depth, rows, filter);
#endif
    }
#else
    (void)cc;
    (void)depth;
    (void)rows;
    (void)filter;
    (void)input_offset;
    (void)bias;
#endif
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
    int32_t run = 1; /* units sharing unit 0's requantization */
    while (run < units && nn_cmsis_same_quant(q, run, 0)) {
        ++run;
    }
    if (run == units) {
        const cmsis_nn_per_tensor_quant_params qt = {.multiplier = q->multiplier[0], .shift = q->shift[0]};
        if (need > 0) {
            nn_cmsis_vector_sums(&cc, depth, units, filter, p->input_offset, bias);
        }
        return nn_cmsis_status(arm_fully_connected_s8(&cc, &fp, &qt, &id, in, &fd, filter, &bd, bias, &od, out));
    }
#if EDGEKWS_CMSISNN_HAS_FC_PER_CHANNEL
    if (need > 0) {
        nn_cmsis_vector_sums(&cc, depth, units, filter, p->input_offset, bias);
    }
    const cmsis_nn_per_channel_quant_params qp = nn_cmsis_quant(q);
    return nn_cmsis_status(
        arm_fully_connected_per_channel_s8(&cc, &fp, &qp, &id, in, &fd, filter, &bd, bias, &od, out));
#else
    /* One batch row at a time (arm_fully_connected_s8 steps its output by the call's unit count), each run of
     * units with one multiplier and shift as one per-tensor call writing out[b * units + first .. + n). */
    const cmsis_nn_dims id1 = {.n = 1, .h = 1, .w = 1, .c = depth};
    for (int32_t first = 0; first < units;) {
        int32_t n = 1;
        while (first + n < units && nn_cmsis_same_quant(q, first + n, first)) {
            ++n;
        }
        const cmsis_nn_per_tensor_quant_params qt = {.multiplier = q->multiplier[first], .shift = q->shift[first]};
        const cmsis_nn_dims fdr = {.n = depth, .h = 1, .w = 1, .c = n};
        const cmsis_nn_dims odr = {.n = 1, .h = 1, .w = 1, .c = n};
        const cmsis_nn_dims bdr = {.n = 1, .h = 1, .w = 1, .c = n};
        const int8_t *rows = filter + (size_t)first * (size_t)depth;
        const int32_t *run_bias = bias ? bias + first : NULL;
        if (need > 0) {
            nn_cmsis_vector_sums(&cc, depth, n, rows, p->input_offset, run_bias);
        }
        for (int32_t b = 0; b < batches; ++b) {
            const int st = nn_cmsis_status(arm_fully_connected_s8(&cc, &fp, &qt, &id1, in + (size_t)b * (size_t)depth,
                                                                  &fdr, rows, &bdr, run_bias, &odr,
                                                                  out + (size_t)b * (size_t)units + first));
            if (st != NN_OK) {
                return st;
            }
        }
        first += n;
    }
    return NN_OK;
#endif
}
