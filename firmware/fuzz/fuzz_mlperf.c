/*
 * fuzz_mlperf.c - the MLPerf Tiny / EEMBC text parser (src/protocol/mlperf.c).
 *
 * The input is a character stream into mlperf_rx_push() (commands end in '%'),
 * each parsed command driven into the db loader the way the server does, and
 * the whole input (NUL-terminated, exact-size copy) into mlperf_parse(). Checks
 * beyond ASan/UBSan: the db buffer never holds more than its capacity or than
 * "db load N" asked for; pointers in a parsed command lie in the line buffer;
 * the number formatters never write past the space they are given.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgekws/mlperf.h"

#define FUZZ_FAIL(msg) (fprintf(stderr, "fuzz finding: %s\n", msg), abort())

static mlperf_rx_t g_rx;
static uint8_t g_db_buf[490];

static void check_in_line(const char *p, size_t n)
{
    if (p != NULL && (p < g_rx.buf || p + n > g_rx.buf + sizeof(g_rx.buf))) {
        FUZZ_FAIL("parsed command points outside the line buffer");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mlperf_db_t db;
    mlperf_db_init(&db, g_db_buf, (uint32_t)sizeof(g_db_buf));
    mlperf_rx_init(&g_rx);
    for (size_t i = 0; i < size; i++) {
        mlperf_cmd_t c;
        memset(&c, 0xA5, sizeof(c)); /* the parser must set what it reports */
        if (!mlperf_rx_push(&g_rx, (char)data[i], &c)) {
            continue;
        }
        if (c.kind > ML_UNKNOWN) {
            FUZZ_FAIL("unknown command kind");
        }
        if (c.kind == ML_DB_HEX) {
            check_in_line(c.hex, c.hex_len);
            (void)mlperf_db_hex(&db, c.hex, c.hex_len);
        } else if (c.kind == ML_DB_LOAD) {
            (void)mlperf_db_load(&db, c.arg_n);
        } else if (c.kind == ML_UNKNOWN) {
            check_in_line(c.word, c.word ? strlen(c.word) : 0);
        } else if (c.kind == ML_ERROR && (c.error == NULL || strlen(c.error) > 200)) {
            FUZZ_FAIL("error command without a short message");
        }
        if (db.size > db.cap || db.pos > db.size) {
            FUZZ_FAIL("db loader beyond its buffer");
        }
    }
    /* The whole input as one line. */
    char *line = (char *)malloc(size + 1);
    if (line != NULL) {
        memcpy(line, data, size);
        line[size] = '\0';
        mlperf_cmd_t c;
        mlperf_parse(line, &c);
        free(line);
    }
    /* Formatters with every capacity up to the input's first byte. */
    if (size >= 5) {
        float v;
        uint32_t u;
        memcpy(&v, data, sizeof(v));
        memcpy(&u, data, sizeof(u));
        size_t cap = data[4] % 32u;
        char *out = (char *)malloc(cap > 0 ? cap : 1u);
        if (out != NULL) {
            size_t n1 = mlperf_fmt_fixed3(out, cap, v);
            size_t n2 = mlperf_fmt_u32(out, cap, u);
            if ((n1 > 0 && n1 >= cap) || (n2 > 0 && n2 >= cap)) {
                FUZZ_FAIL("formatter length leaves no room for the NUL");
            }
            free(out);
        }
    }
    return 0;
}
