/*
 * mlperf.c - parser and formatting helpers of the EEMBC / MLPerf Tiny
 * test-harness text protocol. Portable, no heap, no printf.
 */
#include "edgekws/mlperf.h"

#include <string.h>

void mlperf_rx_init(mlperf_rx_t *rx)
{
    rx->n = 0;
    rx->overflow = 0;
}

int mlperf_rx_push(mlperf_rx_t *rx, char c, mlperf_cmd_t *cmd)
{
    if (c == MLPERF_TERMINATOR) {
        int overflow = rx->overflow;
        rx->buf[rx->n] = '\0';
        rx->n = 0;
        rx->overflow = 0;
        if (overflow) {
            memset(cmd, 0, sizeof(*cmd));
            cmd->kind = ML_ERROR;
            cmd->error = "Command too long";
            return 1;
        }
        mlperf_parse(rx->buf, cmd);
        return 1;
    }
    if (c == '\r' || c == '\n' || c == '\0') {
        return 0;
    }
    if (rx->n < MLPERF_CMD_SIZE) {
        rx->buf[rx->n++] = c;
    } else {
        rx->overflow = 1;
    }
    return 0;
}

/* Split off the next space-separated token; NULL when none is left. */
static char *next_token(char **cursor)
{
    char *p = *cursor;
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    if (*p == '\0') {
        *cursor = p;
        return NULL;
    }
    char *start = p;
    while (*p != '\0' && *p != ' ' && *p != '\t') {
        p++;
    }
    if (*p != '\0') {
        *p++ = '\0';
    }
    *cursor = p;
    return start;
}

/* Strict unsigned decimal: digits only, no overflow past 2^32-1. */
static int parse_u32(const char *s, uint32_t *out)
{
    uint64_t v = 0;
    if (s == NULL || *s == '\0') {
        return -1;
    }
    for (; *s; s++) {
        if (*s < '0' || *s > '9') {
            return -1;
        }
        v = v * 10u + (uint64_t)(*s - '0');
        if (v > 0xFFFFFFFFu) {
            return -1;
        }
    }
    *out = (uint32_t)v;
    return 0;
}

static void set_error(mlperf_cmd_t *cmd, const char *msg)
{
    cmd->kind = ML_ERROR;
    cmd->error = msg;
}

void mlperf_parse(char *line, mlperf_cmd_t *cmd)
{
    memset(cmd, 0, sizeof(*cmd));
    char *cursor = line;
    char *word = next_token(&cursor);
    if (word == NULL) {
        cmd->kind = ML_NONE;
        return;
    }
    cmd->word = word;
    if (strcmp(word, "name") == 0) {
        cmd->kind = ML_NAME;
    } else if (strcmp(word, "profile") == 0) {
        cmd->kind = ML_PROFILE;
    } else if (strcmp(word, "help") == 0) {
        cmd->kind = ML_HELP;
    } else if (strcmp(word, "timestamp") == 0) {
        cmd->kind = ML_TIMESTAMP;
    } else if (strcmp(word, "results") == 0) {
        cmd->kind = ML_RESULTS;
    } else if (strcmp(word, "edgekws") == 0) {
        cmd->kind = ML_BINARY;
    } else if (strcmp(word, "infer") == 0) {
        char *n = next_token(&cursor);
        char *w = next_token(&cursor);
        cmd->kind = ML_INFER;
        cmd->arg_n = 1;
        cmd->arg_w = 10;
        if (n != NULL && (parse_u32(n, &cmd->arg_n) != 0 || cmd->arg_n == 0)) {
            set_error(cmd, "Inference iterations must be >0");
        } else if (w != NULL && parse_u32(w, &cmd->arg_w) != 0) {
            set_error(cmd, "Inference warmup must be >=0");
        }
    } else if (strcmp(word, "db") == 0) {
        char *sub = next_token(&cursor);
        if (sub == NULL) {
            set_error(cmd, "Command 'db' requires a subcommand");
        } else if (strcmp(sub, "load") == 0) {
            char *n = next_token(&cursor);
            cmd->kind = ML_DB_LOAD;
            if (n == NULL) {
                set_error(cmd, "Command 'db load' requires the # of bytes");
            } else if (parse_u32(n, &cmd->arg_n) != 0 || cmd->arg_n == 0) {
                set_error(cmd, "Command 'db load' must be >0 bytes");
            }
        } else if (strcmp(sub, "print") == 0) {
            char *n = next_token(&cursor);
            char *off = next_token(&cursor);
            cmd->kind = ML_DB_PRINT;
            cmd->arg_n = 16;
            cmd->arg_w = 0;
            if ((n != NULL && parse_u32(n, &cmd->arg_n) != 0) ||
                (off != NULL && parse_u32(off, &cmd->arg_w) != 0)) {
                set_error(cmd, "Command 'db print' takes [N] [offset]");
            }
        } else {
            cmd->kind = ML_DB_HEX;
            cmd->hex = sub;
            cmd->hex_len = strlen(sub);
        }
    } else {
        cmd->kind = ML_UNKNOWN;
    }
}

void mlperf_db_init(mlperf_db_t *db, uint8_t *buf, uint32_t cap)
{
    db->buf = buf;
    db->cap = cap;
    db->size = 0;
    db->pos = 0;
}

int mlperf_db_load(mlperf_db_t *db, uint32_t n)
{
    if (n == 0 || n > db->cap) {
        return -1;
    }
    db->size = n;
    db->pos = 0;
    return 0;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

int mlperf_db_hex(mlperf_db_t *db, const char *hex, size_t len)
{
    if (db->size == 0) {
        return -2;
    }
    if ((len & 1u) != 0) {
        return -1;
    }
    for (size_t i = 0; i < len; i++) { /* validate first: all or nothing */
        if (hex_value(hex[i]) < 0) {
            return -1;
        }
    }
    for (size_t i = 0; i + 1 < len && db->pos < db->size; i += 2) {
        db->buf[db->pos++] = (uint8_t)((hex_value(hex[i]) << 4) | hex_value(hex[i + 1]));
    }
    return db->pos == db->size ? 1 : 0;
}

size_t mlperf_fmt_u32(char *out, size_t cap, uint32_t v)
{
    char tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + (v % 10u));
        v /= 10u;
    } while (v != 0 && n < sizeof(tmp));
    if (n + 1 > cap) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        out[i] = tmp[n - 1 - i];
    }
    out[n] = '\0';
    return n;
}

size_t mlperf_fmt_fixed3(char *out, size_t cap, float v)
{
    size_t n = 0;
    if (v != v) { /* NaN */
        v = 0.0f;
    }
    const int negative = v < 0.0f;
    if (negative) {
        v = -v;
    }
    if (v > 4000000.0f) {
        v = 4000000.0f; /* v * 1000 stays below 2^32 */
    }
    /* Truncated, never rounded, and each digit from its own float product (v * 10, v * 100, v * 1000),
     * as the EEMBC reference firmware prints its results: a runner compares our text with the
     * reference's, and rounding would differ in the last digit (1/256 is 0.003, not 0.004). */
    const uint32_t whole = (uint32_t)v;
    const uint32_t d1 = (uint32_t)(v * 10.0f) % 10u;
    const uint32_t d2 = (uint32_t)(v * 100.0f) % 10u;
    const uint32_t d3 = (uint32_t)(v * 1000.0f) % 10u;
    if (negative && (whole | d1 | d2 | d3) != 0u) { /* no "-0.000" */
        if (cap < 2) {
            return 0;
        }
        out[n++] = '-';
    }
    size_t k = mlperf_fmt_u32(out + n, cap - n, whole);
    if (k == 0 || n + k + 5 > cap) {
        return 0;
    }
    n += k;
    out[n++] = '.';
    out[n++] = (char)('0' + d1);
    out[n++] = (char)('0' + d2);
    out[n++] = (char)('0' + d3);
    out[n] = '\0';
    return n;
}
