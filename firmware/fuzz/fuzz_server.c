/*
 * fuzz_server.c - the device server (src/app/server.c) under a fuzzer.
 *
 * The server is included, not linked, so the target reaches its dispatch()
 * entry point and its state directly; the code under test is byte for byte
 * the firmware's. Two builds of this file:
 *
 *   -DFUZZ_SERVER_STREAM=1  the input is the raw serial line into app_serve():
 *                           binary frames, MLPerf text, garbage, mode switches.
 *   -DFUZZ_CMD=<id>         one command handler: the input is a list of
 *                           records  sel u8 | len u16 LE | payload[len]  and each
 *                           becomes a CRC-valid request passed to dispatch(), so
 *                           the fuzzer spends its time in the handler instead of
 *                           guessing CRCs. sel < 0xF0 sends command <id>
 *                           (-DFUZZ_CMD_ANY: sends command sel itself); sel >= 0xF0
 *                           sends one of the other commands first, so handlers
 *                           meet every server state (loaded, inferred, MLPerf).
 *
 * Findings beyond ASan/UBSan: a request not answered by exactly one frame with
 * its sequence number and the response id; a status that is not a status; a
 * LOAD_INPUT verdict that disagrees with the bounds rule; READ_INPUT bytes that
 * differ from what LOAD_INPUT put there.
 */
#include "../src/app/server.c"

#include <stdlib.h>

#include "fuzz_board.h"

#ifndef FUZZ_SERVER_STREAM
#define FUZZ_SERVER_STREAM 0
#endif
#ifndef FUZZ_CMD_ANY
#define FUZZ_CMD_ANY 0
#endif
#ifndef FUZZ_CMD_STREAM
#define FUZZ_CMD_STREAM 0 /* sel picks one of the streaming range 0x20..0x2F */
#endif
#if !FUZZ_SERVER_STREAM && !defined(FUZZ_CMD)
#error "build with -DFUZZ_SERVER_STREAM=1 or -DFUZZ_CMD=<command id>"
#endif

/* INFER's u16 repeat is kept below this so one input stays fast. */
#define FUZZ_MAX_REPEAT 4u

static void reset_server_state(void)
{
    memset(g_input, 0, sizeof(g_input));
#if EDGEKWS_HAS_FRONTEND
    memset(g_audio, 0, sizeof(g_audio));
#endif
    proto_rx_init(&g_rx);
    mlperf_rx_init(&g_mlrx);
    mlperf_db_init(&g_db, (uint8_t *)g_input, (uint32_t)sizeof(g_input));
    g_mode = (uint8_t)EDGEKWS_DEFAULT_PROTOCOL;
    g_have_results = 0;
}

#if FUZZ_SERVER_STREAM

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reset_server_state();
    fuzz_board_clear();
    fuzz_board_feed(data, size);
    if (setjmp(fuzz_jmp) == 0) {
        app_serve();
    }
    /* Whatever the line carried, every frame the device sent is a reply or an event. */
    const fuzz_reply_t *r;
    size_t n = fuzz_board_replies(&r);
    for (size_t i = 0; i < n && i < FUZZ_MAX_REPLIES; i++) {
        if ((r[i].cmd & PROTO_RESPONSE_BIT) == 0) {
            fuzz_fail("device sent a frame with a request id");
        }
    }
    return 0;
}

#else /* one command handler */

static const uint8_t k_setup_cmds[] = {
    CMD_LOAD_INPUT, CMD_LOAD_AUDIO, CMD_INFER, CMD_RESULTS, CMD_READ_OUTPUT,
    CMD_READ_INPUT, CMD_SET_MODE,   CMD_HELLO, CMD_MEMORY,  CMD_LAYER_INFO,
};

static int8_t g_shadow[sizeof(g_input)]; /* what the host believes the staged input holds */

/* The bounds rule of CMD_LOAD_INPUT, restated independently of server.c. */
static uint8_t expected_load_status(const uint8_t *p, uint16_t len)
{
    if (len < 4) {
        return ST_BAD_ARG;
    }
    uint64_t off = (uint64_t)p[0] | ((uint64_t)p[1] << 8) | ((uint64_t)p[2] << 16) | ((uint64_t)p[3] << 24);
    return off + (uint64_t)(len - 4u) <= sizeof(g_input) ? ST_OK : ST_OUT_OF_RANGE;
}

/* The one reply to a request among the frames sent meanwhile (unsolicited events such as
 * streaming detections, ids 0xF0..0xFE, may ride along); NULL after a finding. */
static const fuzz_reply_t *check_reply(uint8_t cmd, uint16_t seq)
{
    const fuzz_reply_t *r;
    size_t n = fuzz_board_replies(&r);
    const fuzz_reply_t *reply = NULL;
    size_t replies = 0;
    for (size_t i = 0; i < n && i < FUZZ_MAX_REPLIES; i++) {
        if (r[i].cmd >= EVT_BOOT && r[i].cmd < RSP_NACK) {
            if (r[i].seq != 0) {
                fuzz_fail("event frame with a sequence number");
            }
            continue;
        }
        reply = &r[i];
        replies++;
    }
    if (replies != 1 || n > FUZZ_MAX_REPLIES) {
        fuzz_fail(replies == 0 ? "request got no reply" : "request got more than one reply");
    }
    /* Device-to-host ids and the reserved request ids (whose cmd|0x80 would be an event id) get a NACK. */
    uint8_t want = ((cmd & PROTO_RESPONSE_BIT) || cmd >= PROTO_CMD_RESERVED_FIRST)
                       ? RSP_NACK : (uint8_t)(cmd | PROTO_RESPONSE_BIT);
    if (reply->cmd != want || reply->seq != seq) {
        fuzz_fail("reply has the wrong id or sequence number");
    }
    if (reply->len == 0 || reply->status > ST_BUSY) {
        fuzz_fail("reply without a valid status byte");
    }
    return reply;
}

/* One request through dispatch(); returns 0 when the board reset (end of input). */
static int send_one(uint8_t cmd, uint16_t seq, const uint8_t *payload, uint16_t len)
{
    /* An exact-size heap copy: a handler reading past the payload hits ASan's redzone. */
    uint8_t *copy = (uint8_t *)malloc(len > 0 ? len : 1u);
    if (copy == NULL) {
        return 0;
    }
    memcpy(copy, payload, len);
    if (cmd == CMD_INFER && len == 4) {
        uint16_t rep = (uint16_t)(copy[2] | (copy[3] << 8));
        rep = (uint16_t)(rep % (FUZZ_MAX_REPEAT + 1u));
        copy[2] = (uint8_t)rep;
        copy[3] = 0;
    }
    proto_frame_t f = {PROTO_VERSION, cmd, seq, len, copy};
    fuzz_board_clear();
    int jumped = setjmp(fuzz_jmp);
    if (jumped == 0) {
        dispatch(&f);
    }
    const fuzz_reply_t *r = check_reply(cmd, seq);
    if (cmd == CMD_LOAD_INPUT) {
        if (r[0].status != expected_load_status(copy, len)) {
            fuzz_fail("LOAD_INPUT verdict disagrees with the bounds rule");
        }
        if (r[0].status == ST_OK) {
            uint32_t off = (uint32_t)copy[0] | ((uint32_t)copy[1] << 8) | ((uint32_t)copy[2] << 16) |
                           ((uint32_t)copy[3] << 24);
            memcpy(&g_shadow[off], copy + 4, len - 4u);
        }
    }
    if (cmd == CMD_INFER && r[0].status == ST_OK) {
        memcpy(g_shadow, g_input, sizeof(g_shadow)); /* features from audio replace the input */
    }
    if (cmd == CMD_READ_INPUT && r[0].status == ST_OK) {
        if (memcmp(g_input, g_shadow, sizeof(g_shadow)) != 0) {
            fuzz_fail("staged input differs from what LOAD_INPUT wrote");
        }
    }
    free(copy);
    return jumped == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reset_server_state();
    memset(g_shadow, 0, sizeof(g_shadow));
    size_t pos = 0;
    uint16_t seq = 1;
    while (pos < size) {
        uint8_t sel = data[pos++];
        uint16_t len = 0;
        if (pos < size) {
            len = data[pos++];
        }
        if (pos < size) {
            len = (uint16_t)(len | (data[pos++] << 8));
        }
        if (len > PROTO_MAX_PAYLOAD) {
            len = (uint16_t)(len % (PROTO_MAX_PAYLOAD + 1u));
        }
        if (len > size - pos) {
            len = (uint16_t)(size - pos);
        }
        uint8_t cmd;
        if (sel >= 0xF0u) {
            cmd = k_setup_cmds[(sel - 0xF0u) % sizeof(k_setup_cmds)];
        } else {
            cmd = FUZZ_CMD_ANY ? sel : FUZZ_CMD_STREAM ? (uint8_t)(CMD_STREAM_FIRST + (sel & 0x0Fu)) : (uint8_t)(FUZZ_CMD);
        }
        if (!send_one(cmd, seq++, data + pos, len)) {
            break;
        }
        pos += len;
    }
    return 0;
}

#endif
