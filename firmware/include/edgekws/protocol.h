/*
 * protocol.h - the edgekws binary serial protocol, version 1 (portable C11).
 *
 * Wire format (docs/protocol.md is the normative description):
 *
 *   0x00 | COBS( header | payload | crc32 ) | 0x00
 *
 *   header  = u8 version (=1) | u8 command | u16 seq (LE) | u16 payload length (LE)
 *   crc32   = IEEE 802.3 CRC-32 (zlib's crc32) of header+payload, little endian
 *
 * COBS removes every 0x00 from the frame, so 0x00 is an unambiguous delimiter:
 * after any garbage the receiver resynchronises at the next 0x00. Requests carry
 * a command id < 0x80; the device answers with (command | 0x80) and the same
 * sequence number; the first payload byte of every response is a status code.
 * Unsolicited device frames (boot banner, future streaming events) use 0xF0..0xFE,
 * and 0xFF is the reply to a frame that could not be decoded at all.
 *
 * Everything here works on caller-provided fixed buffers: no heap, every length
 * checked against the buffer it goes into.
 */
#ifndef EDGEKWS_PROTOCOL_H
#define EDGEKWS_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PROTO_VERSION 1u

/* Largest payload of one frame. Big enough for a DS-CNN input (490 B) in one
 * chunk and for the results of a 60-layer model; small enough for any MCU. */
#ifndef PROTO_MAX_PAYLOAD
#define PROTO_MAX_PAYLOAD 1024u
#endif
#define PROTO_HEADER_SIZE 6u
#define PROTO_CRC_SIZE 4u
#define PROTO_MAX_FRAME (PROTO_HEADER_SIZE + PROTO_MAX_PAYLOAD + PROTO_CRC_SIZE)
/* COBS adds one byte per 254 plus one. */
#define PROTO_COBS_MAX(n) ((n) + ((n) / 254u) + 1u)
#define PROTO_MAX_ENCODED PROTO_COBS_MAX(PROTO_MAX_FRAME)

/* Requests (host -> device). Responses are (cmd | PROTO_RESPONSE_BIT). */
enum {
    CMD_HELLO = 0x01,       /* -> hello record (versions, board, model, clock, counter unit) */
    CMD_LOAD_INPUT = 0x02,  /* u32 offset | bytes          -> u32 bytes written so far */
    CMD_LOAD_AUDIO = 0x03,  /* u32 sample offset | int16 LE -> u32 samples written so far */
    CMD_INFER = 0x04,       /* u8 flags (bit0: features from audio) | u8 0 | u16 repeat -> u32 total ticks, u32 frontend ticks, u64 sum */
    CMD_RESULTS = 0x05,     /* -> results record (output tensor, per-layer ticks, unit) */
    CMD_MEMORY = 0x06,      /* -> memory record */
    CMD_SELFTEST = 0x07,    /* -> u32 vectors, u32 mismatches, u32 ticks */
    CMD_RESET = 0x08,       /* -> status, then the device resets and sends EVT_BOOT */
    CMD_SET_MODE = 0x09,    /* u8 mode (PROTO_MODE_*) -> status, then the device switches */
    CMD_LAYER_INFO = 0x0A,  /* u16 index -> u16 index, u16 count, str name, str op, str backend */
    CMD_ECHO = 0x0B,        /* bytes -> the same bytes (link test) */
    CMD_READ_OUTPUT = 0x0C, /* u32 offset | u16 length -> bytes of the output tensor (large outputs) */
    CMD_READ_INPUT = 0x0D,  /* u32 offset | u16 length -> bytes of the staged input (e.g. device features) */
    CMD_LAYER_CHECK = 0x0E, /* [u16 first layer] -> logits and CRC-32 of every layer's output, last inference */
    /* 0x20..0x2F reserved for streaming keyword spotting (issue 7):
     * STREAM_START 0x20, STREAM_AUDIO 0x21, STREAM_STOP 0x22, STREAM_STATUS 0x23. */
    CMD_STREAM_FIRST = 0x20,
    CMD_STREAM_LAST = 0x2F,
};

#define PROTO_RESPONSE_BIT 0x80u
/* Request ids 0x70..0x7F are reserved: their reply ids would collide with the
 * event ids below, so the device answers them with RSP_NACK. */
#define PROTO_CMD_RESERVED_FIRST 0x70u
#define EVT_BOOT 0xF0u       /* sent once after every reset: payload = hello record */
#define EVT_LOG 0xF1u        /* free text from the device (debug) */
#define EVT_DETECTION 0xF2u  /* reserved for streaming detections (issue 7) */
#define RSP_NACK 0xFFu       /* reply to an undecodable frame: status + message */

/* Status codes: first payload byte of every response. */
typedef enum {
    ST_OK = 0,
    ST_BAD_CRC = 1,
    ST_TRUNCATED = 2,     /* frame shorter than its header says, or shorter than a header */
    ST_TOO_LONG = 3,      /* frame or payload-length field above PROTO_MAX_PAYLOAD */
    ST_BAD_COBS = 4,
    ST_BAD_VERSION = 5,
    ST_UNKNOWN_CMD = 6,
    ST_BAD_ARG = 7,       /* payload of the wrong size or an invalid field */
    ST_OUT_OF_RANGE = 8,  /* offset + length outside the target buffer */
    ST_UNSUPPORTED = 9,   /* command known but not built into this firmware */
    ST_NN_ERROR = 10,     /* nn_invoke failed */
    ST_BUSY = 11,
} proto_status_t;

/* Protocol modes the server can speak. */
#define PROTO_MODE_BINARY 0u
#define PROTO_MODE_MLPERF 1u

/* Counter units in the hello record. */
#define PROTO_UNIT_CYCLES 0u
#define PROTO_UNIT_INSTRUCTIONS 1u

/* Hello flags. */
#define PROTO_HELLO_HAS_FRONTEND 0x01u
#define PROTO_HELLO_MLPERF_DEFAULT 0x02u
#define PROTO_HELLO_HAS_SELFTEST 0x04u

/* ---- CRC-32 (IEEE, reflected, as zlib.crc32) ---- */
uint32_t proto_crc32(uint32_t crc, const uint8_t *data, size_t len);

/* ---- COBS ----
 * Encode n bytes into out (capacity cap); returns the encoded length, or 0
 * when it would not fit. The output never contains 0x00 and has no delimiter. */
size_t cobs_encode(const uint8_t *in, size_t n, uint8_t *out, size_t cap);
/* Decode n encoded bytes (no delimiter) into out (capacity cap). Returns the
 * decoded length, or -1 on a malformed input (a 0x00 inside, a code running
 * past the end) or when it does not fit. */
long cobs_decode(const uint8_t *in, size_t n, uint8_t *out, size_t cap);

/* ---- Frames ---- */
typedef struct {
    uint8_t version;
    uint8_t cmd;
    uint16_t seq;
    uint16_t len;
    const uint8_t *payload; /* points into the decode buffer */
} proto_frame_t;

/* Build header|payload|crc into raw (capacity cap), COBS-encode it into out
 * with a trailing 0x00 delimiter. Returns the bytes to send, 0 if too big. */
size_t proto_encode(uint8_t cmd, uint16_t seq, const uint8_t *payload, uint16_t len,
                    uint8_t *out, size_t cap);

/* Check and split a decoded (un-COBSed) frame. Returns ST_OK and fills f, or a
 * status. f->seq and f->cmd are filled whenever the header was readable, so
 * the error reply can name the offending request. */
proto_status_t proto_parse(const uint8_t *raw, size_t n, proto_frame_t *f);

/* ---- Byte-stream receiver ----
 * Fed one byte at a time; accumulates up to a 0x00 delimiter, then decodes. */
typedef struct {
    uint8_t enc[PROTO_MAX_ENCODED];
    uint8_t raw[PROTO_MAX_FRAME];
    size_t n;          /* encoded bytes held */
    int overflow;      /* dropped bytes since the last delimiter */
} proto_rx_t;

typedef enum {
    RX_NONE = 0,  /* need more bytes */
    RX_FRAME,     /* *frame is valid */
    RX_ERROR,     /* a bad frame ended; *status says why, frame->seq/cmd if known */
} proto_rx_event_t;

void proto_rx_init(proto_rx_t *rx);
proto_rx_event_t proto_rx_push(proto_rx_t *rx, uint8_t byte, proto_frame_t *frame,
                               proto_status_t *status);
/* Encoded bytes held since the last delimiter (for the MLPerf escape "name%"). */
static inline size_t proto_rx_pending(const proto_rx_t *rx) { return rx->n; }

/* ---- Little-endian payload writer/reader with bounds checks ---- */
typedef struct {
    uint8_t *buf;
    size_t cap;
    size_t len;
    int overflow; /* set when a put did not fit; the put is dropped */
} proto_writer_t;

void pw_init(proto_writer_t *w, uint8_t *buf, size_t cap);
void pw_u8(proto_writer_t *w, uint8_t v);
void pw_u16(proto_writer_t *w, uint16_t v);
void pw_u32(proto_writer_t *w, uint32_t v);
void pw_bytes(proto_writer_t *w, const void *p, size_t n);
/* u8 length-prefixed string, truncated to 255 bytes. */
void pw_str(proto_writer_t *w, const char *s);

typedef struct {
    const uint8_t *buf;
    size_t len;
    size_t pos;
    int error; /* set when a get ran past the end; gets then return 0 */
} proto_reader_t;

void pr_init(proto_reader_t *r, const uint8_t *buf, size_t len);
uint8_t pr_u8(proto_reader_t *r);
uint16_t pr_u16(proto_reader_t *r);
uint32_t pr_u32(proto_reader_t *r);
static inline size_t pr_remaining(const proto_reader_t *r) { return r->len - r->pos; }

#ifdef __cplusplus
}
#endif

#endif /* EDGEKWS_PROTOCOL_H */
