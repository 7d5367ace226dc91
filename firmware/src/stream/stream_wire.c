/*
 * stream_wire.c - the little-endian records the stream commands carry:
 * the detector configuration (host -> device) and a detection (device -> host).
 * Python twin: host/edgekws/stream/wire.py (same field order and sizes).
 *
 * config (38 bytes): u16 version, u16 num_frames, u16 num_features, u16 num_classes,
 *   u16 k_hops, u16 smooth_window, u16 hop_samples, u16 win_samples, u32 sample_rate,
 *   i32 threshold, u32 refractory_hops, u32 ignore_mask, i32 out_zero_point, u16 reserved (0)
 * event (16 bytes): u32 time_ms, u32 hop, u16 label, u16 reserved (0), i32 score
 */
#include "edgekws/stream.h"

#include <stddef.h>

static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] | ((uint16_t)p[1] << 8));
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)((v >> 8) & 0xFFu);
    p[2] = (uint8_t)((v >> 16) & 0xFFu);
    p[3] = (uint8_t)(v >> 24);
}

int stream_config_decode(stream_config_t *cfg, const uint8_t *buf, uint32_t len)
{
    if (cfg == NULL || buf == NULL || len != STREAM_CONFIG_WIRE_SIZE ||
        get_u16(buf) != STREAM_CONFIG_VERSION) {
        return STREAM_ERR_ARG;
    }
    cfg->num_frames = get_u16(buf + 2);
    cfg->num_features = get_u16(buf + 4);
    cfg->num_classes = get_u16(buf + 6);
    cfg->k_hops = get_u16(buf + 8);
    cfg->smooth_window = get_u16(buf + 10);
    cfg->hop_samples = get_u16(buf + 12);
    cfg->win_samples = get_u16(buf + 14);
    cfg->sample_rate = get_u32(buf + 16);
    cfg->threshold = (int32_t)get_u32(buf + 20);
    cfg->refractory_hops = get_u32(buf + 24);
    cfg->ignore_mask = get_u32(buf + 28);
    cfg->out_zero_point = (int32_t)get_u32(buf + 32);
    return STREAM_OK;
}

void stream_event_encode(const stream_event_t *ev, uint8_t out[STREAM_EVENT_WIRE_SIZE])
{
    put_u32(out, ev->time_ms);
    put_u32(out + 4, ev->hop);
    put_u16(out + 8, ev->label);
    put_u16(out + 10, 0u);
    put_u32(out + 12, (uint32_t)ev->score);
}
