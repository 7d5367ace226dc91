/* stream_runner.c - streaming-incremental inference over the generated layer table (see edgekws/nn_stream.h). */
#include <stddef.h>
#include <string.h>

#include "edgekws/nn_stream.h"

static int stage_ok(const nn_stream_model_t *sm, uint32_t i)
{
    const nn_stream_stage_t *st = &sm->stages[i];
    if (st->layer >= sm->model->num_layers || st->rows == 0u || st->stride == 0u) {
        return 0;
    }
    const nn_layer_t *l = &sm->model->layers[st->layer];
    if ((l->op != NN_OP_CONV_2D && l->op != NN_OP_DEPTHWISE_CONV_2D) || !l->kernel.conv ||
        l->params.conv.padding.h != 0 || l->in1_dims.n != 1 ||
        st->in_row_bytes != (uint32_t)l->in1_dims.w * (uint32_t)l->in1_dims.c) {
        return 0;
    }
    const uint32_t ring = (uint32_t)st->rows * st->in_row_bytes * (st->rows > 1u ? 2u : 1u);
    return i == 0u ? st->in_row_bytes == sm->frame_bytes : st->ring_offset + ring <= sm->arena_size;
}

int nn_stream_init(nn_stream_t *s, const nn_stream_model_t *sm)
{
    if (!s || !sm || !sm->model || !sm->arena || !sm->stages || sm->num_stages == 0u ||
        sm->num_stages > NN_STREAM_MAX_STAGES || sm->time_stride == 0u || sm->pool_rows == 0u ||
        sm->pool_offset + sm->pool_rows * sm->pool_row_bytes > sm->arena_size ||
        sm->scratch_offset + sm->scratch_size > sm->arena_size || sm->tail.arena != sm->arena ||
        sm->tail.num_layers == 0u || !sm->tail.layers) {
        return NN_ERR_ARG;
    }
    for (uint32_t i = 0; i < sm->num_stages; ++i) {
        if (!stage_ok(sm, i)) {
            return NN_ERR_ARG;
        }
    }
    s->sm = sm;
    nn_stream_reset(s);
    s->primes = 0u;
    return NN_OK;
}

void nn_stream_reset(nn_stream_t *s)
{
    if (!s) {
        return;
    }
    s->in_total = 0u;
    memset(s->rows_in, 0, sizeof s->rows_in);
    memset(s->next, 0, sizeof s->next);
    s->pool_in = 0u;
    s->primed = 0u;
}

/* Where stage i writes its next output row: stage i + 1's ring slot, or the pool ring's. */
static int8_t *out_slot(const nn_stream_t *s, uint32_t i)
{
    const nn_stream_model_t *sm = s->sm;
    if (i + 1u == sm->num_stages) {
        return (int8_t *)(sm->arena + sm->pool_offset + (s->pool_in % sm->pool_rows) * sm->pool_row_bytes);
    }
    const nn_stream_stage_t *nx = &sm->stages[i + 1u];
    return (int8_t *)(sm->arena + nx->ring_offset + (s->rows_in[i + 1u] % nx->rows) * nx->in_row_bytes);
}

/* Stage i's kernel on `rows` input rows at in, one output row into its destination ring; then the
 * row is counted (and stored a second time, cap rows further, so windows never wrap). */
static int run_stage(nn_stream_t *s, uint32_t i, const int8_t *in)
{
    const nn_stream_model_t *sm = s->sm;
    const nn_stream_stage_t *st = &sm->stages[i];
    const nn_layer_t *l = &sm->model->layers[st->layer];
    nn_dims_t in_dims = l->in1_dims;
    nn_dims_t out_dims = l->out_dims;
    in_dims.h = (int32_t)st->rows;
    out_dims.h = 1;
    const nn_context_t ctx = {sm->scratch_size ? (void *)(sm->arena + sm->scratch_offset) : NULL, sm->scratch_size,
                              l->aux, l->aux_size};
    int8_t *out = out_slot(s, i);
    const int rc = l->kernel.conv(&ctx, &l->params.conv, &l->quant, &in_dims, in, &l->filter_dims, l->weights,
                                  l->bias, &out_dims, out);
    if (rc != NN_OK) {
        return rc;
    }
    s->next[i] += st->stride;
    if (i + 1u == sm->num_stages) {
        s->pool_in++;
        return NN_OK;
    }
    const nn_stream_stage_t *nx = &sm->stages[i + 1u];
    if (nx->rows > 1u) {
        memcpy(out + (size_t)nx->rows * nx->in_row_bytes, out, nx->in_row_bytes);
    }
    s->rows_in[i + 1u]++;
    return NN_OK;
}

static int run_stage_timed(nn_stream_t *s, uint32_t i, const int8_t *in, nn_counter_fn counter, uint32_t *ticks)
{
    const uint32_t t0 = counter ? counter() : 0u;
    const int rc = run_stage(s, i, in);
    if (ticks) {
        ticks[s->sm->stages[i].layer] += (counter ? counter() : 0u) - t0;
    }
    return rc;
}

/* Push the window's rows up to in_total through the chain: every stage-0 row that became complete, and
 * after each one every later stage's row it completes (one new input row completes at most one). */
static int advance(nn_stream_t *s, const int8_t *window, nn_counter_fn counter, uint32_t *ticks)
{
    const nn_stream_model_t *sm = s->sm;
    const nn_stream_stage_t *s0 = &sm->stages[0];
    const uint32_t base = s->in_total - sm->window_rows; /* absolute index of window row 0 */
    while (s->next[0] + s0->rows <= s->in_total) {
        int rc = run_stage_timed(s, 0u, window + (size_t)(s->next[0] - base) * sm->frame_bytes, counter, ticks);
        for (uint32_t i = 1u; rc == NN_OK && i < sm->num_stages; ++i) {
            const nn_stream_stage_t *st = &sm->stages[i];
            if (s->rows_in[i] < s->next[i] + st->rows) {
                break; /* no new row here, none further down either */
            }
            const int8_t *in = (const int8_t *)(sm->arena + st->ring_offset +
                                                (s->next[i] % st->rows) * st->in_row_bytes);
            rc = run_stage_timed(s, i, in, counter, ticks);
        }
        if (rc != NN_OK) {
            return rc;
        }
    }
    return NN_OK;
}

/* After priming every stage must have produced its full-window rows, else the schedule is not this model's. */
static int primed_ok(const nn_stream_t *s)
{
    const nn_stream_model_t *sm = s->sm;
    for (uint32_t i = 0; i < sm->num_stages; ++i) {
        if (s->next[i] != (uint32_t)sm->stages[i].out_rows * sm->stages[i].stride) {
            return 0;
        }
    }
    return s->pool_in == sm->pool_rows;
}

int nn_stream_run(nn_stream_t *s, const int8_t *window, uint32_t n_new, int8_t *out, nn_counter_fn counter,
                  uint32_t *layer_ticks)
{
    if (!s || !s->sm || !window || !out) {
        return NN_ERR_ARG;
    }
    const nn_stream_model_t *sm = s->sm;
    if (layer_ticks) {
        for (uint32_t i = 0; i < sm->num_stages; ++i) {
            layer_ticks[sm->stages[i].layer] = 0u;
        }
    }
    if (s->primed && n_new % sm->time_stride != 0u) {
        return NN_ERR_ARG;
    }
    /* The rows stage 0 still needs must lie inside the new window, else start over from it. */
    if (s->primed && (n_new > sm->window_rows || s->next[0] < s->in_total + n_new - sm->window_rows)) {
        nn_stream_reset(s);
    }
    const int priming = !s->primed;
    s->in_total += priming ? sm->window_rows : n_new;
    s->rows_in[0] = s->in_total;
    int rc = advance(s, window, counter, layer_ticks);
    if (rc == NN_OK && priming) {
        rc = primed_ok(s) ? NN_OK : NN_ERR_ARG;
        s->primes++;
    }
    if (rc != NN_OK) {
        nn_stream_reset(s); /* a half-updated chain must not be continued */
        return rc;
    }
    s->primed = 1u;
    rc = nn_invoke(&sm->tail, counter, layer_ticks ? layer_ticks + sm->tail_first : NULL);
    if (rc != NN_OK) {
        nn_stream_reset(s);
        return rc;
    }
    memcpy(out, nn_output(&sm->tail), nn_output_size(&sm->tail));
    return NN_OK;
}
