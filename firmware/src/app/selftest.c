/*
 * selftest.c - the boot self-test: run every test vector the exporter
 * embedded and compare, layer by layer, with what TFLite Micro computed for it
 * on the host (preserve-all-tensors): the CRC-32 of every layer's output
 * tensor, the pre-softmax logits and the final output, byte for byte.
 *
 * Why per layer: a trained model's softmax is saturated for most inputs
 * (eleven -128s and one 127), so an output-only comparison lets an off-by-one
 * in an inner layer pass. The CRCs are taken after each layer's counter read
 * (nn_invoke_checked), and the timed figures come from a separate plain
 * nn_invoke of the same vector, so the counts are those of an ordinary
 * inference.
 *
 * The report is plain text, one fact per line, `key=value` fields, so the
 * host (edgekws.device.emulator.parse_selftest) parses it without guessing:
 *
 *   selftest begin model=kws board=mps2_an500 unit=instructions vectors=16 layers=7 check=layers ...
 *   layer 0 CONV_2D ref instructions=123440 name=conv2d_0
 *   selftest vector 0 pass instructions=812360
 *   selftest vector 3 fail instructions=812360 layer=5 name=conv2d_2 op=CONV_2D backend=simd crc=0x1c4604aa want=0x9894eaca
 *   selftest vector 4 fail instructions=812360 logit=3 got=-12 want=-10
 *   memory arena_bytes=23040 arena_high_water=23040 stack_high_water=1184 stack_size=16384 weights_bytes=51234
 *   selftest result fail vectors=16 mismatches=2 layer_mismatches=1 instructions=812360
 *
 * A vector that fails prints one line: the first mismatching layer (name, op,
 * backend, CRC got/want) when a layer differs, else the first differing logit
 * (`logit=k got= want=`), else the first differing output as before.
 * The counter key is board_counter_unit(): "instructions" in QEMU, "cycles" on
 * a board; the two never share a line. Per-layer counts are those of vector 0
 * (the ref/simd kernels take the same path for every input).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "edgekws/app.h"
#include "edgekws/board.h"
#include "edgekws/nn.h"
#include "edgekws/protocol.h"
#include "edgekws_model.h"

/* A model C exported before the layer check (or written by hand) has no per-layer data: its
 * self-test fails, saying so, instead of quietly comparing the outputs alone. */
#ifndef EDGEKWS_SELFTEST_LAYER_CHECK
#define EDGEKWS_SELFTEST_LAYER_CHECK 0
#endif

#ifndef EDGEKWS_SELFTEST_MAX_LAYERS
#define EDGEKWS_SELFTEST_MAX_LAYERS 128u
#endif

/* Byte written over the whole arena before the first vector; the highest
 * byte that no longer holds it is the arena's high-water mark (a check of the
 * host's plan: it should be close to EDGEKWS_ARENA_SIZE, never above). */
#define ARENA_PAINT 0xA5u

static uint32_t layer_ticks[EDGEKWS_SELFTEST_MAX_LAYERS];
#if EDGEKWS_SELFTEST_LAYER_CHECK
static uint32_t layer_crc[EDGEKWS_SELFTEST_MAX_LAYERS];
static int8_t logits[EDGEKWS_LOGITS_SIZE];
#endif

static uint32_t arena_high_water(const nn_model_t *m)
{
    uint32_t n = m->arena_size;
    while (n > 0u && m->arena[n - 1u] == ARENA_PAINT) {
        n--;
    }
    return n;
}

static void put(const char *s)
{
    board_uart_write((const uint8_t *)s, strlen(s));
}

static void put_u32(uint32_t v)
{
    char buf[11];
    size_t i = sizeof buf;
    do {
        buf[--i] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0u);
    board_uart_write((const uint8_t *)&buf[i], sizeof buf - i);
}

static void put_i32(int32_t v)
{
    if (v < 0) {
        put("-");
        put_u32((uint32_t)0 - (uint32_t)v);
    } else {
        put_u32((uint32_t)v);
    }
}

/* " key=value" */
static void put_kv(const char *key, uint32_t value)
{
    put(" ");
    put(key);
    put("=");
    put_u32(value);
}

static void put_ks(const char *key, const char *value)
{
    put(" ");
    put(key);
    put("=");
    put(value != NULL ? value : "?");
}

#if EDGEKWS_SELFTEST_LAYER_CHECK
static void put_hex(uint32_t v)
{
    static const char digits[] = "0123456789abcdef";
    char buf[10] = {'0', 'x'};
    for (int i = 0; i < 8; i++) {
        buf[2 + i] = digits[(v >> (28 - 4 * i)) & 0xFu];
    }
    board_uart_write((const uint8_t *)buf, sizeof buf);
}
#endif

static void report_layers(const nn_model_t *m, uint32_t n, const char *unit)
{
    for (uint32_t i = 0; i < n; i++) {
        put("layer ");
        put_u32(i);
        put(" ");
        put(nn_layer_op(m, i));
        put(" ");
        put(nn_layer_backend(m, i));
        put_kv(unit, layer_ticks[i]);
        put_ks("name", nn_layer_name(m, i));
        put("\r\n");
    }
}

#if defined(EDGEKWS_STREAMABLE) && EDGEKWS_STREAMABLE
/* One streaming-incremental step (edgekws/nn_stream.h): prime on vector 0, then move the window by the
 * model's time stride (the new rows from vector 1). Prints that step's count per layer ("stream layer"
 * lines, counter reads around each kernel call), the step's total from a second, untimed-per-layer run
 * of the same step, both arenas, and whether its output equals nn_invoke on the same window (which
 * the vectors above check against TFLite Micro layer by layer). Returns 1 when identical. */
static nn_stream_t g_stream_state;
static int8_t g_stream_window[EDGEKWS_INPUT_SIZE];
static uint32_t stream_ticks[EDGEKWS_SELFTEST_MAX_LAYERS];

static int stream_step(const nn_model_t *m, const char *unit)
{
    const uint32_t k = (uint32_t)EDGEKWS_STREAM_TIME_STRIDE;
    const uint32_t row = (uint32_t)EDGEKWS_INPUT_SIZE / (uint32_t)EDGEKWS_INPUT_FRAMES;
    const uint32_t keep = ((uint32_t)EDGEKWS_INPUT_FRAMES - k) * row;
    int8_t got[EDGEKWS_OUTPUT_SIZE];
    memcpy(g_stream_window, &edgekws_selftest_input[0][k * row], keep);
    memcpy(&g_stream_window[keep], edgekws_selftest_input[EDGEKWS_SELFTEST_COUNT > 1 ? 1 : 0], k * row);
    uint32_t total = 0u;
    int rc = NN_OK;
    for (int pass = 0; pass < 2 && rc == NN_OK; ++pass) { /* 0: per-layer counts, 1: the step's total */
        rc = nn_stream_init(&g_stream_state, &edgekws_stream_model);
        if (rc == NN_OK) {
            rc = nn_stream_run(&g_stream_state, edgekws_selftest_input[0], (uint32_t)EDGEKWS_INPUT_FRAMES, got,
                               NULL, NULL);
        }
        const uint32_t t0 = board_counter();
        if (rc == NN_OK) {
            rc = nn_stream_run(&g_stream_state, g_stream_window, k, got, pass == 0 ? board_counter : NULL,
                               pass == 0 ? stream_ticks : NULL);
        }
        total = board_counter() - t0;
    }
    memcpy(nn_input(m), g_stream_window, EDGEKWS_INPUT_SIZE);
    const int same = rc == NN_OK && nn_invoke(m, NULL, NULL) == NN_OK &&
                     memcmp(got, nn_output(m), EDGEKWS_OUTPUT_SIZE) == 0 && g_stream_state.primes == 1u;
    for (uint32_t i = 0; rc == NN_OK && i < nn_num_layers(m); i++) {
        put("stream layer ");
        put_u32(i);
        put(" ");
        put(nn_layer_op(m, i));
        put(" ");
        put(nn_layer_backend(m, i));
        put_kv(unit, stream_ticks[i]);
        put_ks("name", nn_layer_name(m, i));
        put("\r\n");
    }
    put("stream step");
    put_kv("rows", k);
    put_kv(unit, total);
    put_kv("arena_bytes", (uint32_t)EDGEKWS_STREAM_ARENA_SIZE);
    put_kv("full_arena_bytes", (uint32_t)EDGEKWS_ARENA_SIZE);
    put_ks("result", same ? "pass" : "fail");
    if (rc != NN_OK) {
        put(" rc=");
        put_i32(rc);
    }
    put("\r\n");
    return same;
}
#endif

app_selftest_result_t app_selftest(int verbose)
{
    const nn_model_t *m = &edgekws_model;
    const char *unit = board_counter_unit();
    const uint32_t n_layers = nn_num_layers(m);
    app_selftest_result_t result = {0u, 0u, 0u};

    if (verbose) {
        put("selftest begin");
        put_ks("model", EDGEKWS_MODEL_NAME);
        put_ks("bundle", EDGEKWS_BUNDLE_HASH);
        put_ks("board", board_name());
        put_ks("unit", unit);
        put_kv("clock_hz", board_clock_hz());
        put_kv("vectors", (uint32_t)EDGEKWS_SELFTEST_COUNT);
        put_kv("layers", n_layers);
        put_ks("check", EDGEKWS_SELFTEST_LAYER_CHECK ? "layers" : "none");
        put("\r\n");
    }

    /* A table that disagrees with the generated constants is a build error,
     * not a passing test: every vector counts as a mismatch. */
    if (n_layers > EDGEKWS_SELFTEST_MAX_LAYERS || nn_input_size(m) != EDGEKWS_INPUT_SIZE ||
        nn_output_size(m) != EDGEKWS_OUTPUT_SIZE || EDGEKWS_SELFTEST_COUNT == 0) {
        if (verbose) {
            put("selftest error layers_or_sizes_or_vectors");
            put_kv("layers", n_layers);
            put_kv("input_size", nn_input_size(m));
            put_kv("output_size", nn_output_size(m));
            put("\r\nselftest result fail");
            put_kv("vectors", 0u);
            put_kv("mismatches", 1u);
            put("\r\n");
        }
        result.mismatches = 1u;
        return result;
    }

    memset(m->arena, ARENA_PAINT, m->arena_size);
    uint32_t layer_mismatches = 0u;
    for (uint32_t v = 0; v < (uint32_t)EDGEKWS_SELFTEST_COUNT; v++) {
        board_watchdog_kick();
        /* 1. the timed run: a plain inference, exactly what the figures describe */
        memcpy(nn_input(m), edgekws_selftest_input[v], EDGEKWS_INPUT_SIZE);
        const uint32_t t0 = board_counter();
        int rc = nn_invoke(m, board_counter, layer_ticks);
        const uint32_t ticks = board_counter() - t0;
        const uint32_t timed_crc = proto_crc32(0u, (const uint8_t *)nn_output(m), EDGEKWS_OUTPUT_SIZE);

        /* 2. the checked run of the same vector: every layer's CRC and the logits */
        uint32_t bad_layer = n_layers, bad_logit = 0u;
        int no_layer_data = 0;
#if EDGEKWS_SELFTEST_LAYER_CHECK
        int bad_logits = 0;
        if (rc == NN_OK) {
            const nn_check_t check = {proto_crc32, layer_crc, logits, (uint32_t)sizeof logits};
            memcpy(nn_input(m), edgekws_selftest_input[v], EDGEKWS_INPUT_SIZE);
            rc = nn_invoke_checked(m, NULL, NULL, &check);
        }
        if (rc == NN_OK) {
            for (uint32_t i = 0; i < n_layers && bad_layer == n_layers; i++) {
                if (layer_crc[i] != edgekws_selftest_layer_crc[v][i]) {
                    bad_layer = i;
                }
            }
            for (uint32_t i = 0; i < (uint32_t)EDGEKWS_LOGITS_SIZE && !bad_logits; i++) {
                if (logits[i] != edgekws_selftest_logits[v][i]) {
                    bad_logits = 1;
                    bad_logit = i;
                }
            }
        }
#else
        const int bad_logits = 0;
        no_layer_data = 1;
        (void)bad_logit;
#endif

        const int8_t *out = nn_output(m);
        const int8_t *want = edgekws_selftest_expected[v];
        uint32_t mismatched = 0u, first = 0u;
        for (uint32_t i = 0; i < (uint32_t)EDGEKWS_OUTPUT_SIZE; i++) {
            if (out[i] != want[i]) {
                if (mismatched == 0u) {
                    first = i;
                }
                mismatched++;
            }
        }
        /* the timed and the checked run must agree too (a kernel that reads stale memory would not) */
        const int runs_differ = rc == NN_OK &&
                                proto_crc32(0u, (const uint8_t *)out, EDGEKWS_OUTPUT_SIZE) != timed_crc;
        const int ok = (rc == NN_OK) && (mismatched == 0u) && bad_layer == n_layers && !bad_logits &&
                       !runs_differ && !no_layer_data;
        result.vectors++;
        result.total_count = ticks;
        if (!ok) {
            result.mismatches++;
        }
        if (bad_layer != n_layers) {
            layer_mismatches++;
        }
        if (!verbose) {
            continue;
        }
        if (v == 0u) {
            report_layers(m, n_layers, unit);
        }
        put("selftest vector ");
        put_u32(v);
        put(ok ? " pass" : " fail");
        put_kv(unit, ticks);
        if (rc != NN_OK) {
            put(" rc=");
            put_i32(rc);
        } else if (no_layer_data) {
            put(" error=no_layer_check_data");
        } else if (bad_layer != n_layers) {
#if EDGEKWS_SELFTEST_LAYER_CHECK
            put_kv("layer", bad_layer);
            put_ks("name", nn_layer_name(m, bad_layer));
            put_ks("op", nn_layer_op(m, bad_layer));
            put_ks("backend", nn_layer_backend(m, bad_layer));
            put(" crc=");
            put_hex(layer_crc[bad_layer]);
            put(" want=");
            put_hex(edgekws_selftest_layer_crc[v][bad_layer]);
#endif
        } else if (bad_logits) {
#if EDGEKWS_SELFTEST_LAYER_CHECK
            put_kv("logit", bad_logit);
            put(" got=");
            put_i32(logits[bad_logit]);
            put(" want=");
            put_i32(edgekws_selftest_logits[v][bad_logit]);
#endif
        } else if (runs_differ) {
            put(" error=timed_and_checked_runs_differ");
        }
        if (mismatched != 0u && (bad_layer != n_layers || bad_logits)) {
            put_kv("mismatched", mismatched); /* got/want above name the layer or logit */
        } else if (mismatched != 0u) {
            put_kv("mismatched", mismatched);
            put_kv("first", first);
            put(" got=");
            put_i32(out[first]);
            put(" want=");
            put_i32(want[first]);
        }
        put("\r\n");
    }

#if defined(EDGEKWS_STREAMABLE) && EDGEKWS_STREAMABLE
    if (verbose && n_layers <= EDGEKWS_SELFTEST_MAX_LAYERS && !stream_step(m, unit)) {
        result.mismatches++; /* the streaming step counts as one more mismatch */
    }
#endif
    if (verbose) {
        put("memory");
        put_kv("arena_bytes", (uint32_t)EDGEKWS_ARENA_SIZE);
        put_kv("arena_high_water", arena_high_water(m));
        put_kv("stack_high_water", (uint32_t)board_stack_used());
        put_kv("stack_size", (uint32_t)board_stack_size());
        put_kv("weights_bytes", (uint32_t)EDGEKWS_WEIGHTS_BYTES);
        put("\r\nselftest result ");
        put(result.mismatches == 0u ? "pass" : "fail");
        put_kv("vectors", result.vectors);
        put_kv("mismatches", result.mismatches);
        put_kv("layer_mismatches", layer_mismatches);
        put_kv(unit, result.total_count);
        put("\r\n");
    }
    return result;
}
