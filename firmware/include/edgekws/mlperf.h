/*
 * mlperf.h - the EEMBC / MLPerf Tiny test-harness text protocol (portable C11).
 *
 * The official runner drives a device under test with ASCII commands that end
 * in '%' ("name%", "profile%", "db load 490%", "db 0a1b...%", "infer 10 1%",
 * "results%") and reads lines starting "m-" (messages) or "e-" (errors); every
 * command is closed by "m-ready". This module only parses and formats; the
 * server (src/app/server.c) runs the model. docs/protocol.md describes it.
 */
#ifndef EDGEKWS_MLPERF_H
#define EDGEKWS_MLPERF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Longest command line kept (hex loads are the long ones); longer lines are
 * dropped up to the next '%' and answered with an error. */
#ifndef MLPERF_CMD_SIZE
#define MLPERF_CMD_SIZE 1024u
#endif
#define MLPERF_TERMINATOR '%'

typedef enum {
    ML_NONE = 0,
    ML_NAME,       /* name */
    ML_PROFILE,    /* profile */
    ML_HELP,       /* help */
    ML_TIMESTAMP,  /* timestamp */
    ML_DB_LOAD,    /* db load N          -> arg_n */
    ML_DB_HEX,     /* db HHHH...         -> hex, hex_len */
    ML_DB_PRINT,   /* db print [N] [off] -> arg_n, arg_w */
    ML_INFER,      /* infer [N=1] [W=10] -> arg_n, arg_w */
    ML_RESULTS,    /* results */
    ML_BINARY,     /* edgekws  (extension: back to the binary protocol) */
    ML_ERROR,      /* malformed: error holds the e-[...] text */
    ML_UNKNOWN,    /* unknown command: word holds it */
} mlperf_kind_t;

typedef struct {
    mlperf_kind_t kind;
    uint32_t arg_n;
    uint32_t arg_w;
    const char *hex;   /* points into the line buffer */
    size_t hex_len;
    const char *word;  /* first word (for unknown commands) */
    const char *error; /* static message for ML_ERROR */
} mlperf_cmd_t;

typedef struct {
    char buf[MLPERF_CMD_SIZE + 1];
    size_t n;
    int overflow;
} mlperf_rx_t;

void mlperf_rx_init(mlperf_rx_t *rx);
/* Feed one character; returns 1 when a full command ended ('%'), then *cmd is
 * parsed (it points into rx->buf, valid until the next push). CR/LF ignored. */
int mlperf_rx_push(mlperf_rx_t *rx, char c, mlperf_cmd_t *cmd);

/* Parse one NUL-terminated command line (without '%'); modifies line. */
void mlperf_parse(char *line, mlperf_cmd_t *cmd);

/* The db byte buffer the runner fills with "db load N" then "db HH..". */
typedef struct {
    uint8_t *buf;
    uint32_t cap;
    uint32_t size; /* expected bytes (db load N) */
    uint32_t pos;  /* bytes received */
} mlperf_db_t;

void mlperf_db_init(mlperf_db_t *db, uint8_t *buf, uint32_t cap);
/* 0 ok, -1 when N is 0 or above cap (nothing changes then). */
int mlperf_db_load(mlperf_db_t *db, uint32_t n);
/* Append hex digits. Returns 1 when the buffer became full, 0 when more is
 * expected, -1 on an odd count or a non-hex digit (no byte written then), -2
 * when no "db load" is active. Digits beyond the expected size are ignored. */
int mlperf_db_hex(mlperf_db_t *db, const char *hex, size_t len);

/* Write v with exactly three decimals, truncated toward zero as the EEMBC
 * reference firmware prints m-results ("0.003" for 1/256, "-0.125", "1.000");
 * returns the length (0 if cap is too small). No printf. */
size_t mlperf_fmt_fixed3(char *out, size_t cap, float v);
/* Write an unsigned decimal; returns the length (0 if it does not fit). */
size_t mlperf_fmt_u32(char *out, size_t cap, uint32_t v);

#ifdef __cplusplus
}
#endif

#endif /* EDGEKWS_MLPERF_H */
