/*
 * app.h - entry points of the application layer (portable, no registers).
 *
 * main() (src/app/main.c) initialises the board, optionally runs the boot
 * self-test, then hands the serial line to app_serve() (src/app/server.c),
 * which speaks the edgekws binary protocol and the MLPerf Tiny text protocol.
 */
#ifndef EDGEKWS_APP_H
#define EDGEKWS_APP_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EDGEKWS_FW_VERSION "0.1.0"

/* Result of one self-test pass over the embedded test vectors. */
typedef struct {
    uint32_t vectors;      /* number of vectors run */
    uint32_t mismatches;   /* vectors whose output differs from TFLite Micro */
    uint32_t total_count;  /* counter ticks of the last inference (board_counter_unit) */
} app_selftest_result_t;

/* Run every embedded self-test vector, print a report over the UART when
 * verbose, and return the summary. */
app_selftest_result_t app_selftest(int verbose);

/* Serve requests on the serial line forever. */
void app_serve(void) __attribute__((noreturn));

#ifdef __cplusplus
}
#endif

#endif /* EDGEKWS_APP_H */
