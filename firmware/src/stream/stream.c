/*
 * stream.c - frame ring, inference schedule, posterior smoothing and detection.
 * The rules are spelled out in edgekws/stream.h; host/edgekws/stream/detector.py
 * is the Python twin and must stay line-for-line equivalent.
 */
#include "edgekws/stream.h"

#include <string.h>

int stream_init(stream_t *s, const stream_config_t *cfg)
{
    if (s == NULL || cfg == NULL) {
        return STREAM_ERR_ARG;
    }
    if (cfg->num_frames == 0u || cfg->num_frames > STREAM_MAX_FRAMES ||
        cfg->num_features == 0u || cfg->num_features > STREAM_MAX_FEATURES ||
        cfg->num_classes == 0u || cfg->num_classes > STREAM_MAX_CLASSES ||
        cfg->k_hops == 0u || cfg->smooth_window == 0u || cfg->smooth_window > STREAM_MAX_SMOOTH ||
        cfg->hop_samples == 0u || cfg->win_samples == 0u || cfg->sample_rate == 0u ||
        cfg->out_zero_point < -128 || cfg->out_zero_point > 127) {
        return STREAM_ERR_ARG;
    }
    s->cfg = *cfg;
    stream_reset(s);
    return STREAM_OK;
}

void stream_reset(stream_t *s)
{
    if (s == NULL) {
        return;
    }
    memset(s->frames, 0, sizeof s->frames);
    memset(s->history, 0, sizeof s->history);
    memset(s->score, 0, sizeof s->score);
    memset(s->last_output, 0, sizeof s->last_output);
    s->frames_seen = 0u;
    s->inferences = 0u;
    s->detections = 0u;
    s->last_detection_hop = 0u;
    s->write_slot = 0u;
    s->history_pos = 0u;
    s->has_detection = 0u;
    s->ran_inference = 0u;
}

uint32_t stream_time_ms(const stream_config_t *cfg, uint32_t hop)
{
    /* floor(samples * 1000 / rate) without 64-bit division; wraps after 2^32 samples (74 h at 16 kHz) */
    const uint32_t samples = hop * (uint32_t)cfg->hop_samples + (uint32_t)cfg->win_samples;
    return (samples / cfg->sample_rate) * 1000u + ((samples % cfg->sample_rate) * 1000u) / cfg->sample_rate;
}

static void store_frame(stream_t *s, const int8_t *frame)
{
    const uint32_t f = s->cfg.num_features;
    const uint32_t slot = s->write_slot;
    memcpy(&s->frames[slot * f], frame, f);
    memcpy(&s->frames[(slot + s->cfg.num_frames) * f], frame, f);
    s->write_slot = (uint16_t)((slot + 1u) % s->cfg.num_frames);
}

static int should_infer(const stream_t *s)
{
    const uint32_t n = s->frames_seen; /* frames including the new one */
    return n >= s->cfg.num_frames && ((n - s->cfg.num_frames) % s->cfg.k_hops) == 0u;
}

static void smooth(stream_t *s, const int8_t *out)
{
    int16_t *slot = s->history[s->history_pos];
    for (uint32_t c = 0; c < s->cfg.num_classes; ++c) {
        const int16_t v = (int16_t)((int32_t)out[c] - s->cfg.out_zero_point);
        s->score[c] += (int32_t)v - (int32_t)slot[c];
        slot[c] = v;
        s->last_output[c] = out[c];
    }
    s->history_pos = (uint16_t)((s->history_pos + 1u) % s->cfg.smooth_window);
}

static int detect(stream_t *s, uint32_t hop, stream_event_t *ev_out)
{
    int32_t best = -1;
    for (uint32_t c = 0; c < s->cfg.num_classes; ++c) {
        if (c < 32u && (s->cfg.ignore_mask >> c) & 1u) {
            continue;
        }
        if (best < 0 || s->score[c] > s->score[best]) {
            best = (int32_t)c;
        }
    }
    if (best < 0 || s->score[best] < s->cfg.threshold) {
        return STREAM_OK;
    }
    if (s->has_detection && hop - s->last_detection_hop < s->cfg.refractory_hops) {
        return STREAM_OK;
    }
    s->has_detection = 1u;
    s->last_detection_hop = hop;
    s->detections++;
    if (ev_out != NULL) {
        ev_out->time_ms = stream_time_ms(&s->cfg, hop);
        ev_out->hop = hop;
        ev_out->label = (uint16_t)best;
        ev_out->score = s->score[best];
    }
    return STREAM_EVENT;
}

int stream_push_frame(stream_t *s, const int8_t *frame, stream_infer_fn infer, void *ctx,
                      stream_event_t *ev_out)
{
    if (s == NULL || frame == NULL || infer == NULL) {
        return STREAM_ERR_ARG;
    }
    store_frame(s, frame);
    const uint32_t hop = s->frames_seen;
    s->frames_seen++;
    s->ran_inference = 0u;
    if (!should_infer(s)) {
        return STREAM_OK;
    }
    int8_t out[STREAM_MAX_CLASSES];
    const int8_t *window = &s->frames[(uint32_t)s->write_slot * s->cfg.num_features];
    if (infer(ctx, window, out) != 0) {
        return STREAM_ERR_INFER;
    }
    s->ran_inference = 1u;
    s->inferences++;
    smooth(s, out);
    return detect(s, hop, ev_out);
}
