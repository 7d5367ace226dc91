/* nn_softmax_s8_cmsisnn.c - int8 softmax over the last axis through arm_softmax_s8 (the same gemmlowp
 * fixed-point exp and reciprocal as TFLite; output scale 1/256, zero point -128). */
#include "nn_cmsisnn_common.h"

int nn_softmax_s8_cmsisnn(const nn_context_t *ctx, const nn_softmax_params_t *p,
                          int32_t rows, int32_t depth, const int8_t *in, int8_t *out)
{
    (void)ctx;
    if (!p || !in || !out || rows < 0 || depth <= 0) {
        return NN_ERR_ARG;
    }
    /* arm_softmax_s8 shifts by (1 << shift): keep the shift where that is defined. */
    if (p->input_left_shift < 0 || p->input_left_shift > 30) {
        return NN_ERR_ARG;
    }
    arm_softmax_s8(in, rows, depth, p->input_multiplier, p->input_left_shift, p->diff_min, out);
    return NN_OK;
}
