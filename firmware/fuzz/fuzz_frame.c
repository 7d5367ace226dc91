/*
 * fuzz_frame.c - the frame decoder: COBS, header, CRC-32 and the byte-stream
 * receiver (src/protocol/cobs.c, frame.c, crc32.c).
 *
 * The input is used three ways: as a serial byte stream into proto_rx_push(),
 * as one COBS block into cobs_decode(), and as one raw frame into
 * proto_parse(). Beyond ASan/UBSan the target checks the receiver's contract:
 * a decoded frame re-encodes to a frame that decodes the same; every decoded
 * payload lies inside the receive buffer and is no longer than the maximum;
 * cobs_decode(cobs_encode(x)) == x for every input; the receiver never holds
 * more than its buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edgekws/protocol.h"

#ifndef FUZZ_FAIL
#include <stdio.h>
#define FUZZ_FAIL(msg) (fprintf(stderr, "fuzz finding: %s\n", msg), abort())
#endif

static proto_rx_t g_rx;
static uint8_t g_enc[PROTO_MAX_ENCODED + 2];
static uint8_t g_dec[PROTO_MAX_FRAME];

static void check_round_trip(const proto_frame_t *f)
{
    if (f->len > PROTO_MAX_PAYLOAD || f->version != PROTO_VERSION) {
        FUZZ_FAIL("receiver accepted an oversized or wrong-version frame");
    }
    if (f->len > 0 && (f->payload < g_rx.raw || f->payload + f->len > g_rx.raw + sizeof(g_rx.raw))) {
        FUZZ_FAIL("payload points outside the receive buffer");
    }
    size_t n = proto_encode(f->cmd, f->seq, f->payload, f->len, g_enc, sizeof(g_enc));
    if (n == 0 || g_enc[n - 1] != 0) {
        FUZZ_FAIL("a received frame does not re-encode");
    }
    for (size_t i = 0; i + 1 < n; i++) {
        if (g_enc[i] == 0) {
            FUZZ_FAIL("encoded frame contains the delimiter");
        }
    }
    long m = cobs_decode(g_enc, n - 1, g_dec, sizeof(g_dec));
    proto_frame_t g;
    if (m < 0 || proto_parse(g_dec, (size_t)m, &g) != ST_OK || g.cmd != f->cmd || g.seq != f->seq ||
        g.len != f->len || (f->len > 0 && memcmp(g.payload, f->payload, f->len) != 0)) {
        FUZZ_FAIL("re-encoded frame decodes differently");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* 1: byte stream into a fresh receiver (fresh so every finding reproduces). */
    proto_rx_init(&g_rx);
    for (size_t i = 0; i < size; i++) {
        proto_frame_t f;
        proto_status_t st = ST_OK;
        proto_rx_event_t ev = proto_rx_push(&g_rx, data[i], &f, &st);
        if (g_rx.n > sizeof(g_rx.enc)) {
            FUZZ_FAIL("receiver count beyond its buffer");
        }
        if (ev == RX_FRAME) {
            check_round_trip(&f);
        } else if (ev == RX_ERROR && (st == ST_OK || st > ST_BUSY)) {
            FUZZ_FAIL("error event without an error status");
        }
    }

    /* 2: one COBS block into an exact-size heap buffer (ASan sees any overrun). */
    size_t cap = size > 0 ? size : 1u;
    uint8_t *out = (uint8_t *)malloc(cap);
    if (out == NULL) {
        return 0;
    }
    long m = cobs_decode(data, size, out, cap);
    if (m > (long)cap) {
        FUZZ_FAIL("cobs_decode returned more than its capacity");
    }
    if (m >= 0) {
        /* 3: the decoded bytes as a raw frame; the payload must lie inside them. */
        proto_frame_t f;
        if (proto_parse(out, (size_t)m, &f) == ST_OK &&
            (f.len > PROTO_MAX_PAYLOAD || PROTO_HEADER_SIZE + (size_t)f.len + PROTO_CRC_SIZE != (size_t)m)) {
            FUZZ_FAIL("proto_parse accepted a frame whose length disagrees with its size");
        }
    }
    free(out);

    /* 4: encode/decode identity on the raw input (as much as fits a frame buffer). */
    if (size <= PROTO_MAX_FRAME) {
        size_t n = cobs_encode(data, size, g_enc, sizeof(g_enc));
        if (n == 0) {
            if (size > 0) {
                FUZZ_FAIL("cobs_encode refused an input that fits");
            }
            return 0;
        }
        long d = cobs_decode(g_enc, n, g_dec, sizeof(g_dec));
        if (d != (long)size || (size > 0 && memcmp(g_dec, data, size) != 0)) {
            FUZZ_FAIL("cobs_decode(cobs_encode(x)) != x");
        }
    }
    /* 5: raw input straight into proto_parse (exact-size copy). */
    uint8_t *raw = (uint8_t *)malloc(cap);
    if (raw != NULL) {
        memcpy(raw, data, size);
        proto_frame_t f;
        (void)proto_parse(raw, size, &f);
        free(raw);
    }
    return 0;
}
