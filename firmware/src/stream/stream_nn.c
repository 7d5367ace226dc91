/*
 * stream_nn.c - the exported int8 model (edgekws/nn.h) as the stream's infer callback.
 * Kept apart from stream.c so the detector core builds and tests without a model.
 * Full-window mode runs nn_invoke on every window; incremental mode (edgekws/nn_stream.h)
 * computes only the rows of the newest k_hops frames, with bit-identical outputs.
 */
#include "edgekws/nn.h"
#include "edgekws/nn_stream.h"
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
    nn->k_hops = cfg->k_hops;
    nn->incremental = 0u;
    return STREAM_OK;
}

int stream_nn_init_incremental(stream_nn_t *nn, const nn_stream_model_t *sm, const stream_config_t *cfg,
                               uint32_t (*counter)(void))
{
    if (sm == NULL || cfg == NULL || stream_nn_init(nn, sm->model, cfg, counter) != STREAM_OK ||
        sm->window_rows != cfg->num_frames || sm->frame_bytes != cfg->num_features ||
        nn_output_size(&sm->tail) != cfg->num_classes || sm->time_stride == 0u ||
        cfg->k_hops % sm->time_stride != 0u || nn_stream_init(&nn->inc, sm) != NN_OK) {
        return STREAM_ERR_ARG;
    }
    nn->incremental = 1u;
    return STREAM_OK;
}

void stream_nn_reset(stream_nn_t *nn)
{
    if (nn != NULL && nn->incremental) {
        nn_stream_reset(&nn->inc);
    }
}

int stream_nn_infer(void *ctx, const int8_t *window, int8_t *posteriors)
{
    stream_nn_t *nn = (stream_nn_t *)ctx;
    if (nn == NULL || nn->model == NULL || window == NULL || posteriors == NULL) {
        return STREAM_ERR_ARG;
    }
    const uint32_t t0 = nn->counter != NULL ? nn->counter() : 0u;
    if (nn->incremental) {
        /* stream_push_frame calls every k_hops frames: the newest k_hops rows are the new ones
         * (the first call after a reset computes the whole window whatever n_new says) */
        const int rc = nn_stream_run(&nn->inc, window, nn->k_hops, posteriors, NULL, NULL);
        if (rc != NN_OK) {
            return rc;
        }
    } else {
        memcpy(nn_input(nn->model), window, nn->window_bytes);
        const int rc = nn_invoke(nn->model, NULL, NULL);
        if (rc != NN_OK) {
            return rc;
        }
        memcpy(posteriors, nn_output(nn->model), nn->num_classes);
    }
    nn->last_ticks = nn->counter != NULL ? nn->counter() - t0 : 0u;
    return 0;
}
