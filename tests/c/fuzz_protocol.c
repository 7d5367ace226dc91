/*
 * fuzz_protocol.c - libFuzzer target for everything that parses bytes from the
 * wire: the COBS/CRC frame receiver and the MLPerf text receiver + db loader.
 * Build: clang -fsanitize=fuzzer,address,undefined -Ifirmware/include
 *        tests/c/fuzz_protocol.c firmware/src/protocol/ *.c
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "edgekws/mlperf.h"
#include "edgekws/protocol.h"

static proto_rx_t rx;
static mlperf_rx_t mrx;
static uint8_t dbbuf[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t enc[PROTO_MAX_ENCODED + 2];
    static uint8_t dec[PROTO_MAX_FRAME];
    mlperf_db_t db;
    mlperf_db_init(&db, dbbuf, sizeof(dbbuf));
    for (size_t i = 0; i < size; i++) {
        proto_frame_t f;
        proto_status_t st;
        if (proto_rx_push(&rx, data[i], &f, &st) == RX_FRAME) {
            /* a frame that decodes must re-encode to a frame that decodes the same */
            size_t n = proto_encode(f.cmd, f.seq, f.payload, f.len, enc, sizeof(enc));
            if (n == 0 || enc[n - 1] != 0) {
                __builtin_trap();
            }
            long m = cobs_decode(enc, n - 1, dec, sizeof(dec));
            proto_frame_t g;
            if (m < 0 || proto_parse(dec, (size_t)m, &g) != ST_OK || g.len != f.len ||
                memcmp(g.payload, f.payload, f.len) != 0) {
                __builtin_trap();
            }
        }
        mlperf_cmd_t c;
        if (mlperf_rx_push(&mrx, (char)data[i], &c)) {
            if (c.kind == ML_DB_LOAD) {
                (void)mlperf_db_load(&db, c.arg_n);
            } else if (c.kind == ML_DB_HEX) {
                (void)mlperf_db_hex(&db, c.hex, c.hex_len);
            }
            if (db.pos > db.size || db.size > db.cap) {
                __builtin_trap();
            }
        }
    }
    if (size >= 4) {
        char out[32];
        float v;
        memcpy(&v, data, sizeof(v));
        (void)mlperf_fmt_fixed3(out, sizeof(out), v);
    }
    return 0;
}
