/* nn_maxpool_s8_cmsisnn.c - int8 max pooling through arm_max_pool_s8 (input and output must not overlap;
 * the arena planner never aliases a pooling layer's tensors). */
#include "nn_cmsisnn_common.h"

int nn_maxpool_s8_cmsisnn(const nn_context_t *ctx, const nn_pool_params_t *p,
                          const nn_dims_t *in_dims, const int8_t *in, const nn_dims_t *out_dims, int8_t *out)
{
    if (!ctx || !p || !in_dims || !in || !out_dims || !out) {
        return NN_ERR_ARG;
    }
    const nn_hw_t one = {1, 1};
    if (!nn_cmsis_dims_ok(in_dims) || !nn_cmsis_dims_ok(out_dims) || in_dims->c != out_dims->c ||
        in_dims->n != out_dims->n || p->filter.h < 1 || p->filter.w < 1 ||
        !nn_cmsis_window_ok(p->stride, p->padding, one)) {
        return NN_ERR_ARG;
    }
    const cmsis_nn_pool_params pp = {
        .stride = nn_cmsis_tile(p->stride),
        .padding = nn_cmsis_tile(p->padding),
        .activation = {.min = p->act_min, .max = p->act_max},
    };
    const cmsis_nn_dims id = nn_cmsis_dims(in_dims);
    const cmsis_nn_dims fd = {.n = 1, .h = p->filter.h, .w = p->filter.w, .c = 1};
    const cmsis_nn_dims od = nn_cmsis_dims(out_dims);
    cmsis_nn_context cc;
    const int rc = nn_cmsis_context(ctx, 0, &cc);
    if (rc != NN_OK) {
        return rc;
    }
    return nn_cmsis_status(arm_max_pool_s8(&cc, &pp, &id, in, &fd, &od, out));
}
