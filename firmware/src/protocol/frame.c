/*
 * frame.c - edgekws protocol v1 frames: header, CRC, COBS, stream receiver,
 * and the little-endian payload writer/reader. No heap; every length checked.
 */
#include <string.h>

#include "edgekws/protocol.h"

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static uint16_t get_u16(const uint8_t *p) { return (uint16_t)(p[0] | ((uint16_t)p[1] << 8)); }

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

size_t proto_encode(uint8_t cmd, uint16_t seq, const uint8_t *payload, uint16_t len,
                    uint8_t *out, size_t cap)
{
    /* Static scratch: the firmware is single-threaded and sends one frame at a time. */
    static uint8_t raw[PROTO_MAX_FRAME];
    if (len > PROTO_MAX_PAYLOAD || (len > 0 && payload == NULL)) {
        return 0;
    }
    raw[0] = (uint8_t)PROTO_VERSION;
    raw[1] = cmd;
    put_u16(&raw[2], seq);
    put_u16(&raw[4], len);
    if (len > 0) {
        memcpy(&raw[PROTO_HEADER_SIZE], payload, len);
    }
    size_t n = PROTO_HEADER_SIZE + len;
    put_u32(&raw[n], proto_crc32(0, raw, n));
    n += PROTO_CRC_SIZE;
    if (cap < 2) {
        return 0;
    }
    size_t e = cobs_encode(raw, n, out, cap - 1);
    if (e == 0) {
        return 0;
    }
    out[e] = 0x00;
    return e + 1;
}

proto_status_t proto_parse(const uint8_t *raw, size_t n, proto_frame_t *f)
{
    memset(f, 0, sizeof(*f));
    if (n >= PROTO_HEADER_SIZE) {
        f->version = raw[0];
        f->cmd = raw[1];
        f->seq = get_u16(&raw[2]);
        f->len = get_u16(&raw[4]);
    }
    if (n < PROTO_HEADER_SIZE + PROTO_CRC_SIZE) {
        return ST_TRUNCATED;
    }
    if (f->len > PROTO_MAX_PAYLOAD) {
        return ST_TOO_LONG;
    }
    size_t want = PROTO_HEADER_SIZE + (size_t)f->len + PROTO_CRC_SIZE;
    if (n < want) {
        return ST_TRUNCATED;
    }
    if (n > want) {
        return ST_BAD_ARG; /* trailing bytes after the CRC */
    }
    uint32_t crc = get_u32(&raw[n - PROTO_CRC_SIZE]);
    if (crc != proto_crc32(0, raw, n - PROTO_CRC_SIZE)) {
        return ST_BAD_CRC;
    }
    if (f->version != PROTO_VERSION) {
        return ST_BAD_VERSION;
    }
    f->payload = &raw[PROTO_HEADER_SIZE];
    return ST_OK;
}

void proto_rx_init(proto_rx_t *rx)
{
    rx->n = 0;
    rx->overflow = 0;
}

proto_rx_event_t proto_rx_push(proto_rx_t *rx, uint8_t byte, proto_frame_t *frame,
                               proto_status_t *status)
{
    if (byte != 0x00) {
        if (rx->n < sizeof(rx->enc)) {
            rx->enc[rx->n++] = byte;
        } else {
            rx->overflow = 1;
        }
        return RX_NONE;
    }
    /* Delimiter: decide what the bytes since the last one were. */
    size_t n = rx->n;
    int overflow = rx->overflow;
    rx->n = 0;
    rx->overflow = 0;
    memset(frame, 0, sizeof(*frame));
    if (n == 0 && !overflow) {
        return RX_NONE; /* empty frame: hosts send a leading 0x00 to flush */
    }
    if (overflow) {
        *status = ST_TOO_LONG;
        return RX_ERROR;
    }
    long m = cobs_decode(rx->enc, n, rx->raw, sizeof(rx->raw));
    if (m < 0) {
        *status = ST_BAD_COBS;
        return RX_ERROR;
    }
    *status = proto_parse(rx->raw, (size_t)m, frame);
    return *status == ST_OK ? RX_FRAME : RX_ERROR;
}

void pw_init(proto_writer_t *w, uint8_t *buf, size_t cap)
{
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->overflow = 0;
}

void pw_bytes(proto_writer_t *w, const void *p, size_t n)
{
    if (n > w->cap - w->len) {
        w->overflow = 1;
        return;
    }
    if (n > 0) {
        memcpy(&w->buf[w->len], p, n);
    }
    w->len += n;
}

void pw_u8(proto_writer_t *w, uint8_t v) { pw_bytes(w, &v, 1); }

void pw_u16(proto_writer_t *w, uint16_t v)
{
    uint8_t b[2];
    put_u16(b, v);
    pw_bytes(w, b, 2);
}

void pw_u32(proto_writer_t *w, uint32_t v)
{
    uint8_t b[4];
    put_u32(b, v);
    pw_bytes(w, b, 4);
}

void pw_str(proto_writer_t *w, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n > 255) {
        n = 255;
    }
    pw_u8(w, (uint8_t)n);
    pw_bytes(w, s, n);
}

void pr_init(proto_reader_t *r, const uint8_t *buf, size_t len)
{
    r->buf = buf;
    r->len = len;
    r->pos = 0;
    r->error = 0;
}

static const uint8_t *pr_take(proto_reader_t *r, size_t n)
{
    if (r->error || n > r->len - r->pos) {
        r->error = 1;
        return NULL;
    }
    const uint8_t *p = &r->buf[r->pos];
    r->pos += n;
    return p;
}

uint8_t pr_u8(proto_reader_t *r)
{
    const uint8_t *p = pr_take(r, 1);
    return p ? p[0] : 0;
}

uint16_t pr_u16(proto_reader_t *r)
{
    const uint8_t *p = pr_take(r, 2);
    return p ? get_u16(p) : 0;
}

uint32_t pr_u32(proto_reader_t *r)
{
    const uint8_t *p = pr_take(r, 4);
    return p ? get_u32(p) : 0;
}
