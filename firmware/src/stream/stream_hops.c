/*
 * stream_hops.c - assemble whole frontend hops from audio chunks of any size.
 * Serial payloads rarely line up with the 20 ms hop; the frontend wants exactly
 * one hop per call, so the app feeds chunks here and calls the frontend for
 * every completed hop.
 */
#include "edgekws/stream.h"

#include <stddef.h>

int stream_hops_init(stream_hops_t *h, uint16_t hop_samples)
{
    if (h == NULL || hop_samples == 0u || hop_samples > STREAM_MAX_HOP) {
        return STREAM_ERR_ARG;
    }
    h->hop_samples = hop_samples;
    h->fill = 0u;
    h->total_samples = 0u;
    return STREAM_OK;
}

/* A full hop was handed out by the previous call: start the next one. */
static void start_next(stream_hops_t *h)
{
    if (h->fill >= h->hop_samples) {
        h->fill = 0u;
    }
}

uint32_t stream_hops_feed(stream_hops_t *h, const int16_t *pcm, uint32_t n, int *hop_ready)
{
    if (hop_ready != NULL) {
        *hop_ready = 0;
    }
    if (h == NULL || (pcm == NULL && n != 0u) || hop_ready == NULL) {
        return 0u;
    }
    start_next(h);
    uint32_t used = 0u;
    while (used < n && h->fill < h->hop_samples) {
        h->buf[h->fill++] = pcm[used++];
    }
    h->total_samples += used;
    *hop_ready = h->fill == h->hop_samples;
    return used;
}

uint32_t stream_hops_feed_le16(stream_hops_t *h, const uint8_t *bytes, uint32_t nbytes, int *hop_ready)
{
    if (hop_ready != NULL) {
        *hop_ready = 0;
    }
    if (h == NULL || (bytes == NULL && nbytes != 0u) || hop_ready == NULL || (nbytes & 1u) != 0u) {
        return 0u;
    }
    start_next(h);
    uint32_t used = 0u;
    while (used < nbytes && h->fill < h->hop_samples) {
        const uint16_t u = (uint16_t)((uint16_t)bytes[used] | ((uint16_t)bytes[used + 1u] << 8));
        h->buf[h->fill++] = (int16_t)u;
        used += 2u;
    }
    h->total_samples += used / 2u;
    *hop_ready = h->fill == h->hop_samples;
    return used;
}
