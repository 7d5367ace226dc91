/*
 * stream_app.c - the streaming commands of the device server (protocol range 0x20..0x2F).
 *
 * Implements the seam of edgekws/server.h (app_stream_command, app_stream_poll)
 * with the model export's frontend (fe_push_hop) and model (edgekws_model).
 * Built only with -DEDGEKWS_HAS_STREAM=1 (which needs the frontend tables);
 * otherwise this file is empty, so a build may glob src/stream/ unconditionally.
 *
 * Commands (little-endian; every reply starts with the status byte the server adds):
 *   0x20 STREAM_START   config record (STREAM_CONFIG_WIRE_SIZE) [u8 flags]
 *                       flags bit0: also send each detection as an EVT_DETECTION frame
 *                       flags bit1: incremental inference (edgekws/nn_stream.h; needs a model
 *                                   exported with EDGEKWS_STREAMABLE 1, else ST_BAD_ARG)
 *                       flags bit2: add every inference's int8 outputs to the STREAM_AUDIO reply
 *                       -> empty body. Resets frontend, hop assembly, detector, counters.
 *   0x21 STREAM_AUDIO   int16 LE samples (even length) -> u32 frames_total, u32 inferences_total,
 *                       u32 fe_ticks, u32 nn_ticks (both: this chunk), u16 n_events, u16 n_outputs,
 *                       n_events x event record (detections completed by this chunk),
 *                       n_outputs x num_classes int8 (flags bit2 only, else n_outputs = 0: the model
 *                       outputs of this chunk's inferences, oldest first; a chunk whose frames could
 *                       not all fit is refused before any of it is used)
 *   0x22 STREAM_STOP    -> status record; audio is refused until the next STREAM_START
 *   0x23 STREAM_STATUS  -> status record: u8 active, u8 flags, u16 0, u32 samples_total,
 *                       u32 frames_total, u32 inferences_total, u32 detections_total,
 *                       u32 fe_ticks_total, u32 nn_ticks_total, u32 fe_ticks_max (one hop),
 *                       u32 nn_ticks_max (one inference), u32 classify_ticks_max
 *                       (the k_hops frontend hops + the inference of one classification,
 *                       from the second inference on)
 * Ticks are board_counter() units (cycles on a board, instructions on the emulator).
 */
#ifndef EDGEKWS_HAS_STREAM
#define EDGEKWS_HAS_STREAM 0
#endif

#if EDGEKWS_HAS_STREAM

#include <stddef.h>
#include <string.h>

#include "edgekws/board.h"
#include "edgekws/frontend.h"
#include "edgekws/nn.h"
#include "edgekws/server.h"
#include "edgekws/stream.h"
#include "edgekws_model.h"

#define STREAM_CMD_START 0x20u
#define STREAM_CMD_AUDIO 0x21u
#define STREAM_CMD_STOP 0x22u
#define STREAM_CMD_STATUS 0x23u
#define STREAM_FLAG_EVENTS 0x01u
#define STREAM_FLAG_INCREMENTAL 0x02u
#define STREAM_FLAG_OUTPUTS 0x04u
#define STREAM_MAX_REPLY_OUTPUTS 16u /* inferences one STREAM_AUDIO reply can carry (flags bit2) */
#if defined(EDGEKWS_STREAMABLE) && EDGEKWS_STREAMABLE
#define STREAM_APP_INCREMENTAL 1
#else
#define STREAM_APP_INCREMENTAL 0
#endif
#define AUDIO_REPLY_HEADER 20u
#define STATUS_RECORD_SIZE 40u

static stream_t g_stream;
static stream_nn_t g_nn;
static stream_hops_t g_hops;
static fe_state_t g_fe;
static uint8_t g_active;
static uint8_t g_flags;
static uint32_t g_fe_total, g_nn_total, g_fe_max, g_nn_max, g_classify_max;
static uint32_t g_fe_since_inference; /* frontend ticks of the hops since the last inference */
static int8_t g_outputs[STREAM_MAX_REPLY_OUTPUTS * STREAM_MAX_CLASSES]; /* this chunk's outputs (flags bit2) */

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

static proto_status_t fail(proto_status_t st, const char *msg, uint8_t *out, size_t cap, size_t *out_len)
{
    size_t n = strlen(msg);
    if (n > cap) {
        n = cap;
    }
    memcpy(out, msg, n);
    *out_len = n;
    return st;
}

static size_t status_record(uint8_t *out)
{
    memset(out, 0, STATUS_RECORD_SIZE);
    out[0] = g_active;
    out[1] = g_flags;
    put_u32(out + 4, g_hops.total_samples);
    put_u32(out + 8, g_stream.frames_seen);
    put_u32(out + 12, g_stream.inferences);
    put_u32(out + 16, g_stream.detections);
    put_u32(out + 20, g_fe_total);
    put_u32(out + 24, g_nn_total);
    put_u32(out + 28, g_fe_max);
    put_u32(out + 32, g_nn_max);
    put_u32(out + 36, g_classify_max);
    return STATUS_RECORD_SIZE;
}

static proto_status_t cmd_start(const uint8_t *payload, uint16_t len, uint8_t *out, size_t cap, size_t *out_len)
{
    stream_config_t cfg;
    if (len < STREAM_CONFIG_WIRE_SIZE || len > STREAM_CONFIG_WIRE_SIZE + 1u ||
        stream_config_decode(&cfg, payload, STREAM_CONFIG_WIRE_SIZE) != STREAM_OK) {
        return fail(ST_BAD_ARG, "stream config: bad size or version", out, cap, out_len);
    }
    if (cfg.hop_samples != FE_HOP_LENGTH || cfg.win_samples != FE_WIN_LENGTH ||
        cfg.num_features != FE_NUM_FEATURES) {
        return fail(ST_BAD_ARG, "stream config: frontend hop/window/features differ", out, cap, out_len);
    }
    const uint8_t flags = len > STREAM_CONFIG_WIRE_SIZE ? payload[STREAM_CONFIG_WIRE_SIZE] : 0u;
#if STREAM_APP_INCREMENTAL
    const int nn_rc = (flags & STREAM_FLAG_INCREMENTAL)
                          ? stream_nn_init_incremental(&g_nn, &edgekws_stream_model, &cfg, board_counter)
                          : stream_nn_init(&g_nn, &edgekws_model, &cfg, board_counter);
#else
    if (flags & STREAM_FLAG_INCREMENTAL) {
        return fail(ST_BAD_ARG, "stream start: incremental mode needs a model exported with a streaming schedule",
                    out, cap, out_len);
    }
    const int nn_rc = stream_nn_init(&g_nn, &edgekws_model, &cfg, board_counter);
#endif
    if (stream_init(&g_stream, &cfg) != STREAM_OK || nn_rc != STREAM_OK ||
        stream_hops_init(&g_hops, cfg.hop_samples) != STREAM_OK) {
        return fail(ST_BAD_ARG, "stream config: does not fit the model or the buffers (incremental: k_hops "
                    "must be a multiple of the model's time stride)", out, cap, out_len);
    }
    fe_init(&g_fe);
    g_flags = flags;
    g_fe_total = g_nn_total = g_fe_max = g_nn_max = g_classify_max = g_fe_since_inference = 0u;
    g_active = 1u;
    *out_len = 0u;
    return ST_OK;
}

static proto_status_t cmd_audio(const uint8_t *payload, uint16_t len, uint8_t *out, size_t cap, size_t *out_len)
{
    if (!g_active) {
        return fail(ST_BAD_ARG, "stream audio before stream start", out, cap, out_len);
    }
    if ((len & 1u) != 0u) {
        return fail(ST_BAD_ARG, "stream audio: odd byte count", out, cap, out_len);
    }
    if (cap < AUDIO_REPLY_HEADER) {
        return fail(ST_BAD_ARG, "reply buffer too small", out, cap, out_len);
    }
    /* Outputs asked for: every frame this chunk can complete may run the model; refuse the chunk
     * before using any of it unless all their outputs fit the reply. */
    size_t out_room = 0u;
    if (g_flags & STREAM_FLAG_OUTPUTS) {
        const uint32_t pending = g_hops.fill < g_hops.hop_samples ? g_hops.fill : 0u;
        const uint32_t max_frames = (pending + len / 2u) / g_hops.hop_samples;
        out_room = (size_t)max_frames * g_stream.cfg.num_classes;
        if (max_frames > STREAM_MAX_REPLY_OUTPUTS || AUDIO_REPLY_HEADER + out_room > cap) {
            return fail(ST_BAD_ARG, "stream audio: chunk too long to carry every output", out, cap, out_len);
        }
    }
    const size_t max_events = (cap - AUDIO_REPLY_HEADER - out_room) / STREAM_EVENT_WIRE_SIZE;
    uint32_t fe_ticks = 0u, nn_ticks = 0u;
    uint16_t n_events = 0u, n_outputs = 0u;
    uint32_t left = len;
    while (left > 0u) {
        int ready = 0;
        const uint32_t used = stream_hops_feed_le16(&g_hops, payload, left, &ready);
        if (used == 0u) {
            return fail(ST_BAD_ARG, "stream audio: bad chunk", out, cap, out_len);
        }
        payload += used;
        left -= used;
        if (!ready) {
            continue;
        }
        int8_t frame[FE_NUM_FEATURES];
        const uint32_t t0 = board_counter();
        const int fr = fe_push_hop(&g_fe, g_hops.buf, frame);
        const uint32_t dt = board_counter() - t0;
        fe_ticks += dt;
        g_fe_total += dt;
        g_fe_max = dt > g_fe_max ? dt : g_fe_max;
        g_fe_since_inference += dt;
        if (fr != FE_FRAME_READY) {
            continue;
        }
        stream_event_t ev;
        const int rc = stream_push_frame(&g_stream, frame, stream_nn_infer, &g_nn, &ev);
        if (rc < 0) {
            g_active = 0u;
            return fail(ST_NN_ERROR, "stream: inference failed", out, cap, out_len);
        }
        if (g_stream.ran_inference) {
            nn_ticks += g_nn.last_ticks;
            g_nn_total += g_nn.last_ticks;
            g_nn_max = g_nn.last_ticks > g_nn_max ? g_nn.last_ticks : g_nn_max;
            /* one classification = the k_hops new frames + the inference; the first one
             * follows the priming hops that filled the window, so it is not counted */
            const uint32_t classify = g_fe_since_inference + g_nn.last_ticks;
            if (g_stream.inferences > 1u && classify > g_classify_max) {
                g_classify_max = classify;
            }
            g_fe_since_inference = 0u;
            if ((g_flags & STREAM_FLAG_OUTPUTS) && n_outputs < STREAM_MAX_REPLY_OUTPUTS) {
                memcpy(&g_outputs[(size_t)n_outputs * g_stream.cfg.num_classes], g_stream.last_output,
                       g_stream.cfg.num_classes);
                n_outputs++;
            }
        }
        if (rc == STREAM_EVENT) {
            uint8_t rec[STREAM_EVENT_WIRE_SIZE];
            stream_event_encode(&ev, rec);
            if (g_flags & STREAM_FLAG_EVENTS) {
                server_send_event(EVT_DETECTION, rec, sizeof rec);
            }
            if (n_events < max_events) {
                memcpy(out + AUDIO_REPLY_HEADER + (size_t)n_events * STREAM_EVENT_WIRE_SIZE, rec, sizeof rec);
                n_events++;
            }
        }
    }
    put_u32(out, g_stream.frames_seen);
    put_u32(out + 4, g_stream.inferences);
    put_u32(out + 8, fe_ticks);
    put_u32(out + 12, nn_ticks);
    put_u16(out + 16, n_events);
    put_u16(out + 18, n_outputs);
    const size_t ev_end = AUDIO_REPLY_HEADER + (size_t)n_events * STREAM_EVENT_WIRE_SIZE;
    const size_t out_bytes = (size_t)n_outputs * g_stream.cfg.num_classes; /* <= out_room: fits (checked above) */
    memcpy(out + ev_end, g_outputs, out_bytes);
    *out_len = ev_end + out_bytes;
    return ST_OK;
}

proto_status_t app_stream_command(uint8_t cmd, const uint8_t *payload, uint16_t len,
                                  uint8_t *out, size_t cap, size_t *out_len)
{
    *out_len = 0u;
    switch (cmd) {
    case STREAM_CMD_START:
        return cmd_start(payload, len, out, cap, out_len);
    case STREAM_CMD_AUDIO:
        return cmd_audio(payload, len, out, cap, out_len);
    case STREAM_CMD_STOP:
    case STREAM_CMD_STATUS:
        if (len != 0u || cap < STATUS_RECORD_SIZE) {
            return fail(ST_BAD_ARG, "stream stop/status take no payload", out, cap, out_len);
        }
        if (cmd == STREAM_CMD_STOP) {
            g_active = 0u;
        }
        *out_len = status_record(out);
        return ST_OK;
    default:
        return fail(ST_UNKNOWN_CMD, "unknown stream command", out, cap, out_len);
    }
}

void app_stream_poll(void)
{
    /* Audio arrives in requests; a microphone (DFSDM DMA) would be drained here. */
}

#else
typedef int stream_app_not_built; /* ISO C wants a non-empty translation unit */
#endif /* EDGEKWS_HAS_STREAM */
