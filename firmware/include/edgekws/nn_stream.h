/*
 * nn_stream.h - streaming-incremental inference (portable C11, no heap).
 *
 * A model whose time-axis layers are valid in time (no padding above or below) computes
 * output row r of every layer from input rows inside the window only, so when the window
 * moves by k frames (a multiple of the total time stride), every row the previous window
 * computed is still right, shifted. This runner keeps, per convolution, the last `rows`
 * input rows (the effective kernel height) in a ring inside its own arena, computes only
 * the output rows that became complete, with the SAME kernels as the layer table (each
 * called on `rows` input rows with out_h = 1), keeps the last convolution's rows for the
 * whole-map average pool (a sum: the ring's order does not matter), and runs the pool and
 * the layers after it (RESHAPE, FULLY_CONNECTED, SOFTMAX) once per classification. The
 * outputs are bit-identical to nn_invoke on the full window.
 *
 * The exporter (host/edgekws/export/stream_plan.py, codegen_c.py) plans everything: it
 * emits `edgekws_stream_model` next to `edgekws_model` when the model streams
 * (EDGEKWS_STREAMABLE 1 in edgekws_model.h), with the stage table, the ring offsets, the
 * tail's layer rows re-placed in the stream arena and one shared kernel scratch.
 *
 *   nn_stream_t s;  nn_stream_init(&s, &edgekws_stream_model);
 *   every classification: nn_stream_run(&s, window, k_new, out, NULL, NULL);
 *   (the first call after init/reset computes the whole window; later ones the k_new
 *    newest rows of it; a window that moved by more than the runner can take primes again)
 */
#ifndef EDGEKWS_NN_STREAM_H
#define EDGEKWS_NN_STREAM_H

#include <stdint.h>

#include "edgekws/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef NN_STREAM_MAX_STAGES
#define NN_STREAM_MAX_STAGES 16u /* convolutions in the time chain (stream_plan.MAX_STAGES) */
#endif

/* One convolution of the time chain (model->layers[layer]). */
typedef struct {
    uint16_t layer;        /* index into model->layers: CONV_2D or DEPTHWISE_CONV_2D, valid in time */
    uint16_t rows;         /* input rows one output row reads: (kh - 1) * dilation_h + 1 */
    uint16_t stride;       /* time stride */
    uint16_t out_rows;     /* output rows of the full window: what priming must have produced */
    uint32_t in_row_bytes; /* one input row: in_w * in_c */
    uint32_t ring_offset;  /* stream arena offset of the input ring: rows rows, stored twice when rows > 1
                            * so any rows consecutive rows are contiguous (stage 0 reads the window) */
} nn_stream_stage_t;

typedef struct nn_stream_model {
    const nn_model_t *model;   /* weights, parameters and kernels of every layer */
    uint8_t *arena;            /* the stream arena (separate from model->arena: it persists between calls) */
    uint32_t arena_size;
    uint32_t window_rows;      /* model input rows (frames) */
    uint32_t frame_bytes;      /* bytes of one input row */
    uint32_t time_stride;      /* product of the stages' strides: the window moves by multiples of it */
    uint32_t num_stages;
    const nn_stream_stage_t *stages;
    uint32_t pool_offset;      /* ring of the last stage's output rows, read as the pool's whole input map */
    uint32_t pool_rows;
    uint32_t pool_row_bytes;
    uint32_t scratch_offset;   /* kernel scratch shared by every call (sized for one output row) */
    uint32_t scratch_size;
    uint32_t tail_first;       /* model layer index of the pool (tail.layers[0]) */
    nn_model_t tail;           /* the pool and the layers after it, offsets in this arena */
} nn_stream_model_t;

/* Run state (RAM, one per stream): row counters; the rows themselves live in the stream arena. */
typedef struct {
    const nn_stream_model_t *sm;
    uint32_t in_total;                      /* frames taken since the last reset */
    uint32_t rows_in[NN_STREAM_MAX_STAGES]; /* rows that reached each stage's input */
    uint32_t next[NN_STREAM_MAX_STAGES];    /* first input row of each stage's next output row */
    uint32_t pool_in;                       /* rows written into the pool ring */
    uint32_t primes;                        /* calls that computed the whole window */
    uint8_t primed;
} nn_stream_t;

/* Bind a schedule; NN_ERR_ARG when it is inconsistent with its model. Starts unprimed. */
int nn_stream_init(nn_stream_t *s, const nn_stream_model_t *sm);

/* Forget every row: the next nn_stream_run computes the whole window. */
void nn_stream_reset(nn_stream_t *s);

/* One classification. window: the model input (window_rows x frame_bytes int8, oldest row first) whose
 * last n_new rows arrived since the previous call; n_new must be a multiple of time_stride once primed
 * (NN_ERR_ARG otherwise). Unprimed, or when the window moved further than the kept rows reach, the whole
 * window is computed. out: the model's output (tail.output_size bytes).
 * counter / layer_ticks: NULL, or model->num_layers entries receiving this call's counter ticks per layer
 * (a stage's entry sums its rows; the ring copies count with the layer that wrote the row). */
int nn_stream_run(nn_stream_t *s, const int8_t *window, uint32_t n_new, int8_t *out,
                  nn_counter_fn counter, uint32_t *layer_ticks);

#ifdef __cplusplus
}
#endif

#endif /* EDGEKWS_NN_STREAM_H */
