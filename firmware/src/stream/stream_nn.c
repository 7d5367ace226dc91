/*
 * stream_nn.c - the exported int8 model (edgekws/nn.h) as the stream's infer callback.
 * Kept apart from stream.c so the detector core builds and tests without a model.
 */
#include "edgekws/nn.h"
#include "edgekws/stream.h"

#include <stddef.h>
#include <string.h>

int stream_nn_init(stream_nn_t *nn, const struct nn_model *model, const stream_config_t *cfg,
                   uint32_t (*counter)(void))
{
    if (nn == NULL || model == NULL || cfg == NULL) {
        return STREAM_ERR_ARG;
    }
    const uint32_t window = (uint32_t)cfg->num_frames * (uint32_t)cfg->num_features;
    if (nn_input_size(model) != window || nn_output_size(model) != cfg->num_classes) {
        return STREAM_ERR_ARG;
    }
    nn->model = model;
    nn->counter = counter;
    nn->last_ticks = 0u;
    nn->window_bytes = window;
    nn->num_classes = cfg->num_classes;
    return STREAM_OK;
}

int stream_nn_infer(void *ctx, const int8_t *window, int8_t *posteriors)
{
    stream_nn_t *nn = (stream_nn_t *)ctx;
    if (nn == NULL || nn->model == NULL || window == NULL || posteriors == NULL) {
        return STREAM_ERR_ARG;
    }
    const uint32_t t0 = nn->counter != NULL ? nn->counter() : 0u;
    memcpy(nn_input(nn->model), window, nn->window_bytes);
    const int rc = nn_invoke(nn->model, NULL, NULL);
    if (rc != NN_OK) {
        return rc;
    }
    memcpy(posteriors, nn_output(nn->model), nn->num_classes);
    nn->last_ticks = nn->counter != NULL ? nn->counter() - t0 : 0u;
    return 0;
}
