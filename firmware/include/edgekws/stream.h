/*
 * stream.h - streaming keyword spotting on a continuous feature stream
 * (portable C11, no heap, integer arithmetic only).
 *
 * The device frontend turns each hop of audio into one int8 feature frame;
 * this module keeps the last `num_frames` frames (the model's input window),
 * runs the model every `k_hops` frames through a callback the app provides,
 * smooths the int8 posteriors over the last `smooth_window` outputs and
 * reports a detection when the smoothed score of a keyword class reaches the
 * threshold, at most once per refractory period.
 *
 * Everything after the model output is integer arithmetic on int8 values, so
 * the Python twin (host/edgekws/stream/detector.py) makes bit-identical
 * decisions when it sees the same posteriors. The exact rules:
 *
 *   frame index h       = number of frames pushed before this one (0-based)
 *   inference           after pushing frame h when h + 1 >= num_frames and
 *                       (h + 1 - num_frames) % k_hops == 0
 *   score[c]            = sum over the last smooth_window model outputs of
 *                         (q[c] - out_zero_point); outputs not yet produced
 *                         count as 0 (probability 0)
 *   best                = non-ignored class with the largest score (lowest
 *                         index on ties)
 *   detection           score[best] >= threshold, and no detection at a frame
 *                       h' with h - h' < refractory_hops
 *   time_ms             = floor((h * hop_samples + win_samples) * 1000 / sample_rate)
 *                         (the stream time at which frame h is complete)
 *
 * Typical app loop (the protocol's stream-audio command), with
 * stream_nn_init(&nn, &edgekws_model, &cfg, board_counter) done at stream start:
 *
 *   while (n) {                                    // int16 LE audio chunk
 *       uint32_t used = stream_hops_feed_le16(&hops, p, n, &ready);
 *       p += used; n -= used;
 *       if (ready && fe_push_hop(&fe, hops.buf, frame) == 1)      // a new frame
 *           if (stream_push_frame(&st, frame, stream_nn_infer, &nn, &ev) == STREAM_EVENT)
 *               queue_event(&ev);
 *   }
 */
#ifndef EDGEKWS_STREAM_H
#define EDGEKWS_STREAM_H

#include <stdint.h>

#include "edgekws/nn_stream.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Static capacity (override with -D at build time; the exporter knows the model's sizes). */
#ifndef STREAM_MAX_FRAMES
#define STREAM_MAX_FRAMES 64u      /* model input window, frames (DS-CNN: 49) */
#endif
#ifndef STREAM_MAX_FEATURES
#define STREAM_MAX_FEATURES 40u    /* features per frame (MFCC: 10, log-mel: 40) */
#endif
#ifndef STREAM_MAX_CLASSES
#define STREAM_MAX_CLASSES 32u     /* model outputs; ignore_mask has one bit per class */
#endif
#ifndef STREAM_MAX_SMOOTH
#define STREAM_MAX_SMOOTH 32u      /* posterior smoothing window, model outputs */
#endif
#ifndef STREAM_MAX_HOP
#define STREAM_MAX_HOP 1024u       /* audio samples per hop (20 ms at 16 kHz: 320) */
#endif

/* Return codes */
#define STREAM_OK 0          /* frame taken, no detection */
#define STREAM_EVENT 1       /* frame taken, *ev_out holds a detection */
#define STREAM_ERR_ARG (-1)  /* bad pointer or configuration */
#define STREAM_ERR_INFER (-2) /* infer returned non-zero: the frame is kept, no output recorded */

/* Wire sizes (little-endian records shared with host/edgekws/stream/wire.py) */
#define STREAM_CONFIG_VERSION 1u
#define STREAM_CONFIG_WIRE_SIZE 38u
#define STREAM_EVENT_WIRE_SIZE 16u

typedef struct {
    uint16_t num_frames;      /* frames in the model input window */
    uint16_t num_features;    /* int8 features per frame */
    uint16_t num_classes;     /* model outputs */
    uint16_t k_hops;          /* run the model every k_hops frames (>= 1) */
    uint16_t smooth_window;   /* model outputs summed for the smoothed score (>= 1) */
    uint16_t hop_samples;     /* frontend hop, samples (timestamps only) */
    uint16_t win_samples;     /* frontend window, samples (timestamps only) */
    uint32_t sample_rate;     /* Hz (timestamps only) */
    int32_t threshold;        /* on score = sum of (q - out_zero_point) over the window */
    uint32_t refractory_hops; /* frames after a detection during which no other fires */
    uint32_t ignore_mask;     /* bit c set: class c never fires (_silence_, _unknown_) */
    int32_t out_zero_point;   /* model output zero point (-128 for a softmax) */
} stream_config_t;

typedef struct {
    uint32_t time_ms;  /* stream time when the newest frame was complete */
    uint32_t hop;      /* index of the newest frame */
    uint16_t label;    /* class index into the bundle's labels */
    int32_t score;     /* smoothed score that fired */
} stream_event_t;

/* Copies the window ([num_frames][num_features] int8, oldest frame first, contiguous)
 * into the model input, runs it and writes num_classes int8 outputs. Returns 0 on success. */
typedef int (*stream_infer_fn)(void *ctx, const int8_t *window, int8_t *posteriors);

typedef struct {
    stream_config_t cfg;
    /* every frame is written twice (slot p and p + num_frames) so the window is always contiguous */
    int8_t frames[2u * STREAM_MAX_FRAMES * STREAM_MAX_FEATURES];
    int16_t history[STREAM_MAX_SMOOTH][STREAM_MAX_CLASSES]; /* q - zero point, ring of outputs */
    int32_t score[STREAM_MAX_CLASSES];                      /* running sums over history */
    int8_t last_output[STREAM_MAX_CLASSES];                 /* newest model output */
    uint32_t frames_seen;
    uint32_t inferences;
    uint32_t detections;
    uint32_t last_detection_hop;
    uint16_t write_slot;
    uint16_t history_pos;
    uint8_t has_detection;
    uint8_t ran_inference;  /* 1 if the last stream_push_frame ran the model */
} stream_t;

/* Check cfg and start an empty stream. STREAM_OK or STREAM_ERR_ARG. */
int stream_init(stream_t *s, const stream_config_t *cfg);

/* Forget all frames, outputs and detections; keep the configuration. */
void stream_reset(stream_t *s);

/* Take one feature frame (num_features int8); runs infer when the schedule says so.
 * STREAM_OK, STREAM_EVENT (ev_out filled) or a negative error. */
int stream_push_frame(stream_t *s, const int8_t *frame, stream_infer_fn infer, void *ctx,
                      stream_event_t *ev_out);

/* Stream time in ms at which frame `hop` is complete (the timestamp rule above). */
uint32_t stream_time_ms(const stream_config_t *cfg, uint32_t hop);

/* ---- audio hop assembly: arbitrary-size chunks in, whole hops out ---- */
typedef struct {
    int16_t buf[STREAM_MAX_HOP];
    uint16_t hop_samples;
    uint16_t fill;
    uint32_t total_samples;
} stream_hops_t;

int stream_hops_init(stream_hops_t *h, uint16_t hop_samples);

/* Consume samples from pcm (n of them) until one hop is complete or the input ends.
 * Returns the number consumed; *hop_ready = 1 when buf holds a full hop (valid until the next call). */
uint32_t stream_hops_feed(stream_hops_t *h, const int16_t *pcm, uint32_t n, int *hop_ready);

/* Same for int16 little-endian bytes (protocol payloads, any alignment); nbytes must be even,
 * returns bytes consumed (0 and *hop_ready = 0 for an odd nbytes or a NULL argument). */
uint32_t stream_hops_feed_le16(stream_hops_t *h, const uint8_t *bytes, uint32_t nbytes, int *hop_ready);

/* ---- the exported model as the infer callback (src/stream/stream_nn.c, needs the nn runner) ----
 * Two modes with identical outputs: full-window (stream_nn_init: every call runs the whole window
 * through nn_invoke) and incremental (stream_nn_init_incremental, a model exported with
 * EDGEKWS_STREAMABLE 1: the first call after init / stream_nn_reset computes the whole window,
 * later calls only the newest k_hops frames of it, see edgekws/nn_stream.h). The incremental mode
 * relies on stream_push_frame's contract: one call every k_hops frames, each with the latest window. */
struct nn_model; /* nn_model_t of edgekws/nn.h */

typedef struct {
    const struct nn_model *model;
    uint32_t (*counter)(void); /* board_counter, or NULL: no timing */
    uint32_t last_ticks;       /* counter ticks of the last inference (copy + nn_invoke, or nn_stream_run) */
    uint32_t window_bytes;
    uint32_t num_classes;
    uint32_t k_hops;           /* frames between two calls (incremental mode) */
    uint8_t incremental;       /* 1: nn_stream_run on the newest k_hops frames */
    nn_stream_t inc;           /* incremental mode's row counters (its rows live in the stream arena) */
} stream_nn_t;

/* Bind a model to a stream config; STREAM_ERR_ARG unless the model's input is num_frames x
 * num_features int8 and its output num_classes int8. */
int stream_nn_init(stream_nn_t *nn, const struct nn_model *model, const stream_config_t *cfg,
                   uint32_t (*counter)(void));

/* The same in incremental mode on a streaming schedule; also STREAM_ERR_ARG when k_hops is not a
 * multiple of the schedule's time stride (the window would not move by whole rows). */
int stream_nn_init_incremental(stream_nn_t *nn, const nn_stream_model_t *sm, const stream_config_t *cfg,
                               uint32_t (*counter)(void));

/* Forget the incremental rows (call it with stream_reset): the next call computes the whole window. */
void stream_nn_reset(stream_nn_t *nn);

/* stream_infer_fn with ctx = stream_nn_t*: full-window mode copies the window into the model input,
 * runs nn_invoke and copies the output; incremental mode runs nn_stream_run. Returns 0, or the
 * runner's error code (incremental mode then starts again from the whole window). */
int stream_nn_infer(void *ctx, const int8_t *window, int8_t *posteriors);

/* ---- wire records (little-endian), see host/edgekws/stream/wire.py ---- */

/* Decode a STREAM_CONFIG_WIRE_SIZE record; STREAM_OK or STREAM_ERR_ARG (size, version). */
int stream_config_decode(stream_config_t *cfg, const uint8_t *buf, uint32_t len);

/* Encode an event into STREAM_EVENT_WIRE_SIZE bytes. */
void stream_event_encode(const stream_event_t *ev, uint8_t out[STREAM_EVENT_WIRE_SIZE]);

#ifdef __cplusplus
}
#endif

#endif /* EDGEKWS_STREAM_H */
