/*
 * server.c - the device side of the serial line: app_serve().
 *
 * Speaks two protocols over the one UART:
 *   - the edgekws binary protocol v1 (COBS frames, CRC-32; protocol.h), used
 *     by tools/bench.py and `edgekws bench`;
 *   - the EEMBC / MLPerf Tiny text protocol (mlperf.h), so the official runner
 *     can drive the same firmware.
 * The build-time default is EDGEKWS_DEFAULT_PROTOCOL (0 binary, 1 MLPerf);
 * CMD_SET_MODE switches to MLPerf, the text command "edgekws%" switches back,
 * and the exact text "name%" arriving in binary mode switches to MLPerf too
 * (a v1 frame can never start with those bytes), so the runner works against
 * either default.
 *
 * Fixed buffers only; every length and offset from the wire is checked; a bad
 * frame is answered with an error and the loop keeps serving.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "edgekws/app.h"
#include "edgekws/board.h"
#include "edgekws/mlperf.h"
#include "edgekws/nn.h"
#include "edgekws/protocol.h"
#include "edgekws/server.h"
#include "edgekws_model.h"

/* The device frontend is built in when the model export wrote its tables
 * (edgekws_frontend_tables.h defines EDGEKWS_HAS_FRONTEND), or when the build
 * says so with -DEDGEKWS_HAS_FRONTEND=1. */
#ifndef EDGEKWS_HAS_FRONTEND
#if defined(__has_include)
#if __has_include("edgekws_frontend_tables.h")
#include "edgekws/frontend.h"
#endif
#endif
#endif
#ifndef EDGEKWS_HAS_FRONTEND
#define EDGEKWS_HAS_FRONTEND 0
#endif
#if EDGEKWS_HAS_FRONTEND
#include "edgekws/frontend.h"
#endif

/* The frontend can feed the model only if its frames fill the input exactly. */
#if EDGEKWS_HAS_FRONTEND && defined(EDGEKWS_FE_NUM_FEATURES)
#define FRONTEND_FITS ((EDGEKWS_INPUT_SIZE % EDGEKWS_FE_NUM_FEATURES) == 0u)
#else
#define FRONTEND_FITS EDGEKWS_HAS_FRONTEND
#endif

#ifndef EDGEKWS_DEFAULT_PROTOCOL
#define EDGEKWS_DEFAULT_PROTOCOL PROTO_MODE_BINARY
#endif

/* EEMBC energy mode (MLPerf Tiny energy runs through the energy monitor): timestamps are GPIO
 * pulses (board_timestamp_pin) instead of m-lap-us lines; the Nucleo's UART then runs at 9600. */
#ifndef EDGEKWS_MLPERF_ENERGY
#define EDGEKWS_MLPERF_ENERGY 0
#endif

#ifndef EDGEKWS_HAS_STREAM
#define EDGEKWS_HAS_STREAM 0
#endif

#ifndef EDGEKWS_HAS_SELFTEST
#define EDGEKWS_HAS_SELFTEST 1
#endif

/* Raw audio buffer for CMD_LOAD_AUDIO: one clip, exactly the samples whose
 * frames fill the model input (win + (frames - 1) * hop: 16000 for 49 frames
 * of 40 ms every 20 ms at 16 kHz). */
#ifndef EDGEKWS_AUDIO_SAMPLES
#if EDGEKWS_HAS_FRONTEND && defined(EDGEKWS_FE_WIN_LENGTH) && defined(EDGEKWS_FE_NUM_FEATURES)
#define EDGEKWS_AUDIO_SAMPLES \
    (EDGEKWS_FE_WIN_LENGTH + ((EDGEKWS_INPUT_SIZE / EDGEKWS_FE_NUM_FEATURES) - 1u) * EDGEKWS_FE_HOP_LENGTH)
#else
#define EDGEKWS_AUDIO_SAMPLES 16000u
#endif
#endif

/* Per-layer counters kept for CMD_RESULTS. */
#ifndef SERVER_MAX_LAYERS
#define SERVER_MAX_LAYERS 128u
#endif

/* The logits (pre-softmax) have the output's size in every model the exporter writes; a hand-written
 * model C without the macro gets the output size. */
#ifndef EDGEKWS_LOGITS_SIZE
#define EDGEKWS_LOGITS_SIZE EDGEKWS_OUTPUT_SIZE
#endif

/* Output dequantisation for the MLPerf m-results line. An int8 softmax has
 * scale 1/256 and zero point -128 in TFLite; the generated header may say. */
#ifndef EDGEKWS_OUTPUT_SCALE
#define EDGEKWS_OUTPUT_SCALE (1.0f / 256.0f)
#endif
#ifndef EDGEKWS_OUTPUT_ZERO_POINT
#define EDGEKWS_OUTPUT_ZERO_POINT (-128)
#endif

#define MODEL (&edgekws_model)

/* ---- state ---- */
static uint8_t g_mode;
static proto_rx_t g_rx;
static mlperf_rx_t g_mlrx;
static mlperf_db_t g_db;
static uint8_t g_tx[PROTO_MAX_ENCODED + 2];
static uint8_t g_payload[PROTO_MAX_PAYLOAD];
/* Staging copy of the input: the arena may reuse the input tensor's memory
 * for later layers, so every inference copies from here. */
static int8_t g_input[EDGEKWS_INPUT_SIZE];
static uint32_t g_layer_ticks[SERVER_MAX_LAYERS];
static uint32_t g_total_ticks;
static uint32_t g_frontend_ticks;
static uint8_t g_have_results;
/* CMD_LAYER_CHECK: per-layer CRC-32 and logits of a checked run of the last inference's input. */
static uint32_t g_layer_crc[SERVER_MAX_LAYERS];
static int8_t g_logits[EDGEKWS_LOGITS_SIZE];
static uint32_t g_output_crc;
static uint8_t g_check_valid;  /* g_layer_crc/g_logits belong to the last inference */
static uint8_t g_input_changed; /* the staged input was written after the last inference */
#if EDGEKWS_HAS_FRONTEND
static int16_t g_audio[EDGEKWS_AUDIO_SAMPLES];
#endif
#if EDGEKWS_HAS_STREAM
/* The last stream reply, still in g_payload: a request the host re-sends after a timeout
 * (same cmd and seq) is answered from it instead of feeding the same audio twice. Any other
 * frame may overwrite g_payload, so it clears g_replay_valid first. */
static uint8_t g_replay_valid;
static uint8_t g_replay_cmd;
static uint16_t g_replay_seq;
static size_t g_replay_len;
#endif

/* ---- output helpers ---- */
static void uart_puts(const char *s) { board_uart_write((const uint8_t *)s, strlen(s)); }

static void send_frame(uint8_t cmd, uint16_t seq, const uint8_t *payload, size_t len)
{
    if (len > PROTO_MAX_PAYLOAD) {
        len = PROTO_MAX_PAYLOAD;
    }
    size_t n = proto_encode(cmd, seq, payload, (uint16_t)len, g_tx, sizeof(g_tx));
    if (n > 0) {
        board_uart_write(g_tx, n);
    }
}

void server_send_event(uint8_t evt, const uint8_t *payload, size_t len)
{
    send_frame(evt, 0, payload, len);
}

static void reply_status(uint8_t cmd, uint16_t seq, proto_status_t st, const char *msg)
{
    proto_writer_t w;
    pw_init(&w, g_payload, sizeof(g_payload));
    pw_u8(&w, (uint8_t)st);
    if (msg != NULL) {
        size_t n = strlen(msg);
        pw_bytes(&w, msg, n < 200 ? n : 200);
    }
    send_frame(cmd, seq, w.buf, w.len);
}

static uint8_t counter_unit_code(void)
{
    const char *u = board_counter_unit();
    if (strcmp(u, "cycles") == 0) {
        return PROTO_UNIT_CYCLES;
    }
    if (strcmp(u, "instructions") == 0) {
        return PROTO_UNIT_INSTRUCTIONS;
    }
    return 2; /* other (the host board counts nanoseconds) */
}

/* The hello record: the same payload answers CMD_HELLO and rides in EVT_BOOT. */
static void write_hello(proto_writer_t *w)
{
    uint8_t flags = 0;
    if (EDGEKWS_HAS_FRONTEND && FRONTEND_FITS) {
        flags |= PROTO_HELLO_HAS_FRONTEND;
    }
    if (EDGEKWS_DEFAULT_PROTOCOL == PROTO_MODE_MLPERF) {
        flags |= PROTO_HELLO_MLPERF_DEFAULT;
    }
    if (EDGEKWS_HAS_SELFTEST) {
        flags |= PROTO_HELLO_HAS_SELFTEST;
    }
    pw_u8(w, ST_OK);
    pw_u8(w, (uint8_t)PROTO_VERSION);
    pw_u8(w, counter_unit_code());
    pw_u8(w, flags);
    pw_u32(w, board_clock_hz());
    pw_u32(w, nn_input_size(MODEL));
    pw_u32(w, nn_output_size(MODEL));
    pw_u32(w, nn_num_layers(MODEL));
    pw_u32(w, (uint32_t)PROTO_MAX_PAYLOAD);
    pw_u32(w, (uint32_t)EDGEKWS_AUDIO_SAMPLES);
    pw_str(w, EDGEKWS_FW_VERSION);
    pw_str(w, board_name());
    pw_str(w, EDGEKWS_MODEL_NAME);
    pw_str(w, EDGEKWS_BUNDLE_HASH);
    pw_str(w, EDGEKWS_BACKENDS);
    pw_str(w, board_counter_unit());
}

static void send_boot(void)
{
    proto_writer_t w;
    pw_init(&w, g_payload, sizeof(g_payload));
    write_hello(&w);
    static const uint8_t delim = 0x00;
    board_uart_write(&delim, 1); /* ends whatever text came before */
    send_frame(EVT_BOOT, 0, w.buf, w.len);
}

/* Run the model once on the staged input; fills the counters. */
static int run_model(void)
{
    uint32_t n_layers = nn_num_layers(MODEL);
    uint32_t *ticks = n_layers <= SERVER_MAX_LAYERS ? g_layer_ticks : NULL;
    memcpy(nn_input(MODEL), g_input, sizeof(g_input));
    uint32_t t0 = board_counter();
    int rc = nn_invoke(MODEL, board_counter, ticks);
    g_total_ticks = board_counter() - t0;
    if (ticks == NULL) {
        memset(g_layer_ticks, 0, sizeof(g_layer_ticks));
    }
    g_have_results = (uint8_t)(rc == 0);
    g_check_valid = 0;
    g_input_changed = 0;
    return rc;
}

/* ---- binary protocol commands ---- */
static void cmd_load_input(const proto_frame_t *f)
{
    proto_reader_t r;
    pr_init(&r, f->payload, f->len);
    uint32_t offset = pr_u32(&r);
    if (r.error) {
        reply_status(f->cmd | PROTO_RESPONSE_BIT, f->seq, ST_BAD_ARG, "need u32 offset");
        return;
    }
    size_t n = pr_remaining(&r);
    if (offset > sizeof(g_input) || n > sizeof(g_input) - offset) {
        reply_status(f->cmd | PROTO_RESPONSE_BIT, f->seq, ST_OUT_OF_RANGE, "input offset+length");
        return;
    }
    memcpy((uint8_t *)g_input + offset, &f->payload[r.pos], n);
    g_input_changed = 1;
    proto_writer_t w;
    pw_init(&w, g_payload, sizeof(g_payload));
    pw_u8(&w, ST_OK);
    pw_u32(&w, (uint32_t)(offset + n));
    send_frame(f->cmd | PROTO_RESPONSE_BIT, f->seq, w.buf, w.len);
}

static void cmd_load_audio(const proto_frame_t *f)
{
#if EDGEKWS_HAS_FRONTEND
    if (!FRONTEND_FITS) {
        reply_status(f->cmd | PROTO_RESPONSE_BIT, f->seq, ST_UNSUPPORTED,
                     "unsupported: the frontend's frames do not fill this model's input");
        return;
    }
    proto_reader_t r;
    pr_init(&r, f->payload, f->len);
    uint32_t offset = pr_u32(&r);
    size_t nbytes = pr_remaining(&r);
    if (r.error || (nbytes & 1u) != 0) {
        reply_status(f->cmd | PROTO_RESPONSE_BIT, f->seq, ST_BAD_ARG, "need u32 offset and int16 samples");
        return;
    }
    size_t n = nbytes / 2u;
    if (offset > EDGEKWS_AUDIO_SAMPLES || n > EDGEKWS_AUDIO_SAMPLES - offset) {
        reply_status(f->cmd | PROTO_RESPONSE_BIT, f->seq, ST_OUT_OF_RANGE, "audio offset+length");
        return;
    }
    const uint8_t *p = &f->payload[r.pos];
    for (size_t i = 0; i < n; i++) {
        g_audio[offset + i] = (int16_t)(uint16_t)(p[2 * i] | ((uint16_t)p[2 * i + 1] << 8));
    }
    proto_writer_t w;
    pw_init(&w, g_payload, sizeof(g_payload));
    pw_u8(&w, ST_OK);
    pw_u32(&w, (uint32_t)(offset + n));
    send_frame(f->cmd | PROTO_RESPONSE_BIT, f->seq, w.buf, w.len);
#else
    reply_status(f->cmd | PROTO_RESPONSE_BIT, f->seq, ST_UNSUPPORTED,
                 "unsupported: firmware built without the device frontend");
#endif
}

static void cmd_infer(const proto_frame_t *f)
{
    proto_reader_t r;
    pr_init(&r, f->payload, f->len);
    uint8_t flags = f->len >= 1 ? pr_u8(&r) : 0;
    (void)pr_u8(&r);
    uint16_t repeat = f->len >= 4 ? pr_u16(&r) : 1;
    if (f->len != 0 && f->len != 4) {
        reply_status(f->cmd | PROTO_RESPONSE_BIT, f->seq, ST_BAD_ARG, "infer takes u8 flags, u8 0, u16 repeat");
        return;
    }
    if (repeat == 0) {
        repeat = 1;
    }
    g_frontend_ticks = 0;
    if (flags & 0x01u) {
#if EDGEKWS_HAS_FRONTEND
        uint32_t t0 = board_counter();
        int frc = fe_extract_int8(g_audio, EDGEKWS_AUDIO_SAMPLES, g_input, (uint32_t)sizeof(g_input));
        g_frontend_ticks = board_counter() - t0;
        if (frc != 0) {
            reply_status(f->cmd | PROTO_RESPONSE_BIT, f->seq, ST_NN_ERROR, "feature extraction failed");
            return;
        }
#else
        reply_status(f->cmd | PROTO_RESPONSE_BIT, f->seq, ST_UNSUPPORTED,
                     "unsupported: firmware built without the device frontend");
        return;
#endif
    }
    /* 64 bits: 65535 repeats of up to 2^32 - 1 ticks each cannot overflow it (32 bits did after
     * ~940 repeats of a 4.56 M-instruction model). */
    uint64_t sum = 0;
    for (uint16_t i = 0; i < repeat; i++) {
        if (run_model() != 0) {
            reply_status(f->cmd | PROTO_RESPONSE_BIT, f->seq, ST_NN_ERROR, "nn_invoke failed");
            return;
        }
        sum += g_total_ticks;
        board_watchdog_kick();
    }
    proto_writer_t w;
    pw_init(&w, g_payload, sizeof(g_payload));
    pw_u8(&w, ST_OK);
    pw_u32(&w, g_total_ticks);
    pw_u32(&w, g_frontend_ticks);
    pw_u32(&w, (uint32_t)sum);         /* u64 little endian: low word, */
    pw_u32(&w, (uint32_t)(sum >> 32)); /* then high word */
    send_frame(f->cmd | PROTO_RESPONSE_BIT, f->seq, w.buf, w.len);
}

static void cmd_results(const proto_frame_t *f)
{
    if (!g_have_results) {
        reply_status(f->cmd | PROTO_RESPONSE_BIT, f->seq, ST_BAD_ARG, "no results: run infer first");
        return;
    }
    uint32_t n_out = nn_output_size(MODEL);
    uint32_t n_layers = nn_num_layers(MODEL);
    if (n_layers > SERVER_MAX_LAYERS) {
        n_layers = 0; /* not measured per layer */
    }
    const size_t fixed = 4u + 4u + 4u + 8u;
    size_t room = sizeof(g_payload) - fixed;
    uint32_t out_inc = n_out <= room ? n_out : (uint32_t)room;
    room -= out_inc;
    uint32_t layers_inc = n_layers <= room / 4u ? n_layers : (uint32_t)(room / 4u);
    proto_writer_t w;
    pw_init(&w, g_payload, sizeof(g_payload));
    pw_u8(&w, ST_OK);
    pw_u8(&w, counter_unit_code());
    pw_u8(&w, 0);
    pw_u8(&w, 0);
    pw_u32(&w, g_total_ticks);
    pw_u32(&w, g_frontend_ticks);
    pw_u16(&w, (uint16_t)(n_out > 0xFFFFu ? 0xFFFFu : n_out));
    pw_u16(&w, (uint16_t)out_inc);
    pw_u16(&w, (uint16_t)nn_num_layers(MODEL));
    pw_u16(&w, (uint16_t)layers_inc);
    pw_bytes(&w, nn_output(MODEL), out_inc);
    for (uint32_t i = 0; i < layers_inc; i++) {
        pw_u32(&w, g_layer_ticks[i]);
    }
    send_frame(f->cmd | PROTO_RESPONSE_BIT, f->seq, w.buf, w.len);
}

/* LAYER_CHECK: the last inference, layer by layer. The staged input is run once more through
 * nn_invoke_checked (CRC-32 of every layer's output after its counter read, and the logits); the
 * timed inference itself stays a plain nn_invoke, so INFER/RESULTS figures do not change. The checked
 * run's output must equal the last inference's (same CRC), else the device says so. Request: empty,
 * or u16 first layer (pages through models whose CRCs do not fit one reply). Reply:
 *   u8 status | u16 layers | u16 first | u16 count | u16 logits | u16 logits included |
 *   u32 output crc | int8 logits[included] | u32 crc[count] */
static void cmd_layer_check(const proto_frame_t *f)
{
    proto_reader_t r;
    pr_init(&r, f->payload, f->len);
    uint16_t first = f->len >= 2u ? pr_u16(&r) : 0u;
    if (f->len != 0u && f->len != 2u) {
        reply_status(f->cmd | PROTO_RESPONSE_BIT, f->seq, ST_BAD_ARG, "layer check takes nothing or u16 first layer");
        return;
    }
    const uint32_t n_layers = nn_num_layers(MODEL);
    const uint32_t n_logits = nn_logits_size(MODEL);
    if (n_layers > SERVER_MAX_LAYERS || n_logits > sizeof(g_logits)) {
        reply_status(f->cmd | PROTO_RESPONSE_BIT, f->seq, ST_UNSUPPORTED, "model too large for the layer check");
        return;
    }
    if (first > n_layers) {
        reply_status(f->cmd | PROTO_RESPONSE_BIT, f->seq, ST_OUT_OF_RANGE, "first layer");
        return;
    }
    if (!g_have_results || g_input_changed) {
        reply_status(f->cmd | PROTO_RESPONSE_BIT, f->seq, ST_BAD_ARG, "no inference of the staged input: run infer first");
        return;
    }
    if (!g_check_valid) {
        const uint32_t want = proto_crc32(0u, (const uint8_t *)nn_output(MODEL), nn_output_size(MODEL));
        const nn_check_t check = {proto_crc32, g_layer_crc, g_logits, (uint32_t)sizeof(g_logits)};
        memcpy(nn_input(MODEL), g_input, sizeof(g_input));
        int rc = nn_invoke_checked(MODEL, NULL, NULL, &check);
        g_output_crc = proto_crc32(0u, (const uint8_t *)nn_output(MODEL), nn_output_size(MODEL));
        if (rc != NN_OK || g_output_crc != want) {
            g_have_results = 0;
            reply_status(f->cmd | PROTO_RESPONSE_BIT, f->seq, ST_NN_ERROR,
                         rc != NN_OK ? "checked run failed" : "checked run's output differs from the last inference");
            return;
        }
        g_check_valid = 1;
    }
    const size_t fixed = 1u + 2u * 5u + 4u;
    size_t room = sizeof(g_payload) - fixed;
    const uint32_t logits_inc = n_logits <= room ? n_logits : (uint32_t)room;
    room -= logits_inc;
    const uint32_t left = n_layers - first;
    const uint32_t count = left <= room / 4u ? left : (uint32_t)(room / 4u);
    proto_writer_t w;
    pw_init(&w, g_payload, sizeof(g_payload));
    pw_u8(&w, ST_OK);
    pw_u16(&w, (uint16_t)n_layers);
    pw_u16(&w, first);
    pw_u16(&w, (uint16_t)count);
    pw_u16(&w, (uint16_t)n_logits);
    pw_u16(&w, (uint16_t)logits_inc);
    pw_u32(&w, g_output_crc);
    pw_bytes(&w, g_logits, logits_inc);
    for (uint32_t i = 0; i < count; i++) {
        pw_u32(&w, g_layer_crc[first + i]);
    }
    send_frame(f->cmd | PROTO_RESPONSE_BIT, f->seq, w.buf, w.len);
}

/* READ_OUTPUT / READ_INPUT: a window of the output tensor or of the staged input. */
static void cmd_read_tensor(const proto_frame_t *f, const int8_t *base, uint32_t size)
{
    proto_reader_t r;
    pr_init(&r, f->payload, f->len);
    uint32_t offset = pr_u32(&r);
    uint16_t len = pr_u16(&r);
    if (r.error || pr_remaining(&r) != 0) {
        reply_status(f->cmd | PROTO_RESPONSE_BIT, f->seq, ST_BAD_ARG, "need u32 offset, u16 length");
        return;
    }
    if (offset > size || len > size - offset || len > PROTO_MAX_PAYLOAD - 1u) {
        reply_status(f->cmd | PROTO_RESPONSE_BIT, f->seq, ST_OUT_OF_RANGE, "tensor offset+length");
        return;
    }
    proto_writer_t w;
    pw_init(&w, g_payload, sizeof(g_payload));
    pw_u8(&w, ST_OK);
    pw_bytes(&w, base + offset, len);
    send_frame(f->cmd | PROTO_RESPONSE_BIT, f->seq, w.buf, w.len);
}

static void cmd_memory(const proto_frame_t *f)
{
    proto_writer_t w;
    pw_init(&w, g_payload, sizeof(g_payload));
    pw_u8(&w, ST_OK);
    pw_u32(&w, (uint32_t)EDGEKWS_ARENA_SIZE);
    pw_u32(&w, (uint32_t)EDGEKWS_WEIGHTS_BYTES);
    pw_u32(&w, (uint32_t)board_stack_used());
    pw_u32(&w, (uint32_t)board_stack_size());
    pw_u32(&w, (uint32_t)sizeof(g_input));
    pw_u32(&w, (uint32_t)(EDGEKWS_HAS_FRONTEND ? EDGEKWS_AUDIO_SAMPLES * 2u : 0u));
    pw_u32(&w, (uint32_t)(sizeof(g_rx) + sizeof(g_mlrx) + sizeof(g_tx) + sizeof(g_payload)));
    send_frame(f->cmd | PROTO_RESPONSE_BIT, f->seq, w.buf, w.len);
}

static void cmd_selftest(const proto_frame_t *f)
{
#if EDGEKWS_HAS_SELFTEST
    app_selftest_result_t res = app_selftest(0);
    g_have_results = 0; /* the self-test overwrote the output tensor */
    proto_writer_t w;
    pw_init(&w, g_payload, sizeof(g_payload));
    pw_u8(&w, ST_OK);
    pw_u32(&w, res.vectors);
    pw_u32(&w, res.mismatches);
    pw_u32(&w, res.total_count);
    send_frame(f->cmd | PROTO_RESPONSE_BIT, f->seq, w.buf, w.len);
#else
    reply_status(f->cmd | PROTO_RESPONSE_BIT, f->seq, ST_UNSUPPORTED, "unsupported: no self-test vectors");
#endif
}

static void cmd_layer_info(const proto_frame_t *f)
{
    proto_reader_t r;
    pr_init(&r, f->payload, f->len);
    uint16_t idx = pr_u16(&r);
    uint32_t count = nn_num_layers(MODEL);
    if (r.error || pr_remaining(&r) != 0) {
        reply_status(f->cmd | PROTO_RESPONSE_BIT, f->seq, ST_BAD_ARG, "need u16 layer index");
        return;
    }
    if (idx >= count) {
        reply_status(f->cmd | PROTO_RESPONSE_BIT, f->seq, ST_OUT_OF_RANGE, "layer index");
        return;
    }
    proto_writer_t w;
    pw_init(&w, g_payload, sizeof(g_payload));
    pw_u8(&w, ST_OK);
    pw_u16(&w, idx);
    pw_u16(&w, (uint16_t)count);
    pw_str(&w, nn_layer_name(MODEL, idx));
    pw_str(&w, nn_layer_op(MODEL, idx));
    pw_str(&w, nn_layer_backend(MODEL, idx));
    send_frame(f->cmd | PROTO_RESPONSE_BIT, f->seq, w.buf, w.len);
}

static void enter_mlperf(void);
static void server_mlperf_command(const mlperf_cmd_t *cmd);

static void dispatch(const proto_frame_t *f)
{
    uint8_t rsp = (uint8_t)(f->cmd | PROTO_RESPONSE_BIT);
#if EDGEKWS_HAS_STREAM
    if (g_replay_valid && f->cmd == g_replay_cmd && f->seq == g_replay_seq) {
        send_frame(rsp, f->seq, g_payload, g_replay_len);
        return;
    }
    g_replay_valid = 0u;
#endif
    if (f->cmd & PROTO_RESPONSE_BIT) {
        reply_status(RSP_NACK, f->seq, ST_UNKNOWN_CMD, "device-to-host command id sent to the device");
        return;
    }
    if (f->cmd >= PROTO_CMD_RESERVED_FIRST) {
        /* Their reply ids (cmd | 0x80 = 0xF0..0xFF) are the event ids: never answer with one. */
        reply_status(RSP_NACK, f->seq, ST_UNKNOWN_CMD, "reserved command id");
        return;
    }
    switch (f->cmd) {
    case CMD_HELLO: {
        proto_writer_t w;
        pw_init(&w, g_payload, sizeof(g_payload));
        write_hello(&w);
        send_frame(rsp, f->seq, w.buf, w.len);
        break;
    }
    case CMD_LOAD_INPUT: cmd_load_input(f); break;
    case CMD_LOAD_AUDIO: cmd_load_audio(f); break;
    case CMD_INFER: cmd_infer(f); break;
    case CMD_RESULTS: cmd_results(f); break;
    case CMD_READ_OUTPUT: cmd_read_tensor(f, nn_output(MODEL), nn_output_size(MODEL)); break;
    case CMD_READ_INPUT: cmd_read_tensor(f, g_input, (uint32_t)sizeof(g_input)); break;
    case CMD_MEMORY: cmd_memory(f); break;
    case CMD_SELFTEST: cmd_selftest(f); break;
    case CMD_LAYER_INFO: cmd_layer_info(f); break;
    case CMD_LAYER_CHECK: cmd_layer_check(f); break;
    case CMD_ECHO: {
        g_payload[0] = ST_OK;
        size_t n = f->len < PROTO_MAX_PAYLOAD - 1u ? f->len : PROTO_MAX_PAYLOAD - 1u;
        memcpy(&g_payload[1], f->payload, n);
        send_frame(rsp, f->seq, g_payload, n + 1u);
        break;
    }
    case CMD_RESET:
        reply_status(rsp, f->seq, ST_OK, NULL);
        board_reset();
        break;
    case CMD_SET_MODE: {
        if (f->len != 1 || (f->payload[0] != PROTO_MODE_BINARY && f->payload[0] != PROTO_MODE_MLPERF)) {
            reply_status(rsp, f->seq, ST_BAD_ARG, "mode: u8 0 (binary) or 1 (mlperf)");
            break;
        }
        reply_status(rsp, f->seq, ST_OK, NULL);
        if (f->payload[0] == PROTO_MODE_MLPERF) {
            enter_mlperf();
        }
        break;
    }
    default:
        if (f->cmd >= CMD_STREAM_FIRST && f->cmd <= CMD_STREAM_LAST) {
#if EDGEKWS_HAS_STREAM
            size_t n = 0;
            proto_status_t st = app_stream_command(f->cmd, f->payload, f->len, &g_payload[1],
                                                   sizeof(g_payload) - 1u, &n);
            g_payload[0] = (uint8_t)st;
            g_replay_len = 1u + (n < sizeof(g_payload) - 1u ? n : sizeof(g_payload) - 1u);
            g_replay_cmd = f->cmd;
            g_replay_seq = f->seq;
            g_replay_valid = 1u;
            send_frame(rsp, f->seq, g_payload, g_replay_len);
#else
            reply_status(rsp, f->seq, ST_UNSUPPORTED, "unsupported: streaming is not built in");
#endif
        } else {
            reply_status(rsp, f->seq, ST_UNKNOWN_CMD, "unknown command");
        }
        break;
    }
}

static const char *status_text(proto_status_t st)
{
    switch (st) {
    case ST_BAD_CRC: return "bad crc";
    case ST_TRUNCATED: return "truncated frame";
    case ST_TOO_LONG: return "frame too long";
    case ST_BAD_COBS: return "bad cobs";
    case ST_BAD_VERSION: return "bad protocol version";
    default: return "bad frame";
    }
}

static void binary_byte(uint8_t b)
{
    /* The MLPerf runner's first command arriving in binary mode. */
    static const char escape[] = "name%";
    size_t pending = proto_rx_pending(&g_rx);
    if (b == '%' && pending == 4 && memcmp(g_rx.enc, escape, 4) == 0) {
        proto_rx_init(&g_rx);
        enter_mlperf();
        mlperf_cmd_t cmd;
        memset(&cmd, 0, sizeof(cmd));
        cmd.kind = ML_NAME;
        server_mlperf_command(&cmd);
        return;
    }
    proto_frame_t f;
    proto_status_t st = ST_OK;
    proto_rx_event_t ev = proto_rx_push(&g_rx, b, &f, &st);
    if (ev == RX_FRAME) {
        dispatch(&f);
    } else if (ev == RX_ERROR) {
#if EDGEKWS_HAS_STREAM
        g_replay_valid = 0u; /* the NACK below overwrites g_payload */
#endif
        reply_status(RSP_NACK, f.seq, st, status_text(st));
    }
}

/* ---- MLPerf Tiny text protocol ---- */
static void ml_line(const char *a, const char *b, const char *c)
{
    uart_puts(a);
    if (b) {
        uart_puts(b);
    }
    if (c) {
        uart_puts(c);
    }
    uart_puts("\r\n");
}

static void ml_u32_line(const char *prefix, uint32_t v)
{
    char num[12];
    (void)mlperf_fmt_u32(num, sizeof(num), v);
    ml_line(prefix, num, NULL);
}

static void ml_timestamp(void)
{
#if EDGEKWS_MLPERF_ENERGY
    board_timestamp_pin(); /* the energy monitor timestamps the edge; nothing is printed */
#else
    uint64_t us = (uint64_t)board_millis() * 1000u;
    ml_u32_line("m-lap-us-", (uint32_t)us);
#endif
}

static void ml_results(void)
{
    char num[24];
    const int8_t *out = nn_output(MODEL);
    uint32_t n = nn_output_size(MODEL);
    uart_puts("m-results-[");
    for (uint32_t i = 0; i < n; i++) {
        float v = ((float)out[i] - (float)(EDGEKWS_OUTPUT_ZERO_POINT)) * (float)(EDGEKWS_OUTPUT_SCALE);
        if (mlperf_fmt_fixed3(num, sizeof(num), v) == 0) {
            num[0] = '0';
            num[1] = '\0';
        }
        uart_puts(num);
        if (i + 1 < n) {
            uart_puts(",");
        }
    }
    uart_puts("]\r\n");
}

static void ml_infer(uint32_t n, uint32_t w)
{
    if (g_db.size != sizeof(g_input) || g_db.pos != g_db.size) {
        ml_line("e-[Input db holds ", "a different number of bytes than the model input", "]");
        return;
    }
    ml_u32_line("m-warmup-start-", w);
    for (uint32_t i = 0; i < w; i++) {
        (void)run_model();
        board_watchdog_kick();
    }
    ml_line("m-warmup-done", NULL, NULL);
    ml_u32_line("m-infer-start-", n);
    ml_timestamp();
    int rc = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        rc = run_model();
        board_watchdog_kick();
    }
    ml_timestamp();
    ml_line("m-infer-done", NULL, NULL);
    if (rc != 0) {
        ml_line("e-[Inference failed]", NULL, NULL);
        return;
    }
    ml_results();
}

static void server_mlperf_command(const mlperf_cmd_t *cmd)
{
    switch (cmd->kind) {
    case ML_NONE: break;
    case ML_NAME: ml_line("m-name-dut-[edgekws ", board_name(), "]"); break;
    case ML_PROFILE:
        ml_line("m-profile-[edgekws firmware ", EDGEKWS_FW_VERSION, "]");
        ml_line("m-model-[kws01]", NULL, NULL);
        break;
    case ML_HELP:
        ml_line("edgekws firmware ", EDGEKWS_FW_VERSION, " (MLPerf Tiny mode)");
        ml_line("help, name, profile, timestamp, db load N, db HH.., db print [N] [off],", NULL, NULL);
        ml_line("infer [N=1] [W=10], results, edgekws (back to the binary protocol)", NULL, NULL);
        break;
    case ML_TIMESTAMP: ml_timestamp(); break;
    case ML_DB_LOAD:
        if (mlperf_db_load(&g_db, cmd->arg_n) != 0) {
            char num[12];
            (void)mlperf_fmt_u32(num, sizeof(num), g_db.cap);
            ml_line("e-[db load: the buffer holds at most bytes: ", num, "]");
        } else {
            char num[12];
            (void)mlperf_fmt_u32(num, sizeof(num), cmd->arg_n);
            ml_line("m-[Expecting ", num, " bytes]");
        }
        break;
    case ML_DB_HEX: {
        int rc = mlperf_db_hex(&g_db, cmd->hex, cmd->hex_len);
        g_input_changed = 1; /* the db buffer is the staged input */
        if (rc == 1) {
            ml_line("m-load-done", NULL, NULL);
        } else if (rc == -1) {
            ml_line("e-[Invalid hex data]", NULL, NULL);
        } else if (rc == -2) {
            ml_line("e-[Run 'db load N' first]", NULL, NULL);
        }
        break;
    }
    case ML_DB_PRINT: {
        static const char hexd[] = "0123456789abcdef";
        uint32_t off = cmd->arg_w;
        uint32_t n = cmd->arg_n;
        if (off > g_db.pos) {
            off = g_db.pos;
        }
        if (n > g_db.pos - off) {
            n = g_db.pos - off;
        }
        for (uint32_t i = 0; i < n; i++) {
            char h[4] = {hexd[g_db.buf[off + i] >> 4], hexd[g_db.buf[off + i] & 15u], '-', '\0'};
            if (i % 8u == 0) {
                uart_puts("m-buffer-");
            }
            if ((i + 1) % 8u == 0 || i + 1 == n) {
                h[2] = '\0';
                uart_puts(h);
                uart_puts("\r\n");
            } else {
                uart_puts(h);
            }
        }
        break;
    }
    case ML_INFER: ml_infer(cmd->arg_n, cmd->arg_w); break;
    case ML_RESULTS:
        if (g_have_results) {
            ml_results();
        } else {
            ml_line("e-[No results: run infer first]", NULL, NULL);
        }
        break;
    case ML_BINARY:
        ml_line("m-mode-binary", NULL, NULL);
        {
            /* A frame delimiter ends the text, so the host's frame receiver
             * drops it as garbage instead of gluing it to the first reply. */
            static const uint8_t delim = 0x00;
            board_uart_write(&delim, 1);
        }
        g_mode = PROTO_MODE_BINARY;
        proto_rx_init(&g_rx);
        return; /* no m-ready: the line now speaks frames */
    case ML_ERROR: ml_line("e-[", cmd->error, "]"); break;
    case ML_UNKNOWN: ml_line("e-[Unknown command: ", cmd->word, "]"); break;
    }
    uart_puts("m-ready\r\n");
}

static void enter_mlperf(void)
{
    g_mode = PROTO_MODE_MLPERF;
    mlperf_rx_init(&g_mlrx);
}

static void mlperf_byte(uint8_t b)
{
    mlperf_cmd_t cmd;
    if (mlperf_rx_push(&g_mlrx, (char)b, &cmd)) {
        server_mlperf_command(&cmd);
    }
}

void app_serve(void)
{
    proto_rx_init(&g_rx);
    mlperf_rx_init(&g_mlrx);
    mlperf_db_init(&g_db, (uint8_t *)g_input, (uint32_t)sizeof(g_input));
    g_mode = (uint8_t)EDGEKWS_DEFAULT_PROTOCOL;
    g_have_results = 0;
    if (g_mode == PROTO_MODE_MLPERF) {
        /* The reference firmware's boot: its timestamp mode (performance: m-lap-us lines; energy:
         * GPIO pulses), one timestamp, then init-done and ready. */
        uart_puts(EDGEKWS_MLPERF_ENERGY ? "m-timestamp-mode-energy\r\n" : "m-timestamp-mode-performance\r\n");
        ml_timestamp();
        uart_puts("m-init-done\r\nm-ready\r\n");
    } else {
        send_boot();
    }
    for (;;) {
        uint8_t b;
        if (!board_uart_read(&b, EDGEKWS_HAS_STREAM ? 1u : 100u)) {
            board_watchdog_kick();
#if EDGEKWS_HAS_STREAM
            app_stream_poll();
#endif
            continue;
        }
        if (g_mode == PROTO_MODE_MLPERF) {
            mlperf_byte(b);
        } else {
            binary_byte(b);
        }
    }
}
