/*
 * fuzz_board.h - a board (edgekws/board.h) for fuzzing the device server.
 *
 * Why a board of its own: the server's only way in is board_uart_read() and
 * its only way out is board_uart_write(). This board feeds the fuzz input as
 * the serial line, decodes everything the server writes back with the same
 * receiver the device uses (so a reply that is not a well-formed frame is a
 * finding), and turns the "no more bytes" / reset / exit moments into a
 * longjmp back to the fuzz target, because app_serve() never returns.
 */
#ifndef EDGEKWS_FUZZ_BOARD_H
#define EDGEKWS_FUZZ_BOARD_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

#include "edgekws/protocol.h"

#define FUZZ_MAX_REPLIES 64u

typedef struct {
    uint8_t cmd;
    uint16_t seq;
    uint16_t len;
    uint8_t status; /* first payload byte, 0xFF when the payload is empty */
} fuzz_reply_t;

/* Why the board jumped back: */
#define FUZZ_JMP_EOF 1   /* the input ran out */
#define FUZZ_JMP_RESET 2 /* board_reset() */
#define FUZZ_JMP_EXIT 3  /* board_exit() */

extern jmp_buf fuzz_jmp;

/* Serial input for board_uart_read(); bytes are consumed from data. */
void fuzz_board_feed(const uint8_t *data, size_t size);
/* Forget every reply seen so far (and reset the reply decoder). */
void fuzz_board_clear(void);
/* Replies decoded since the last clear (at most FUZZ_MAX_REPLIES kept). */
size_t fuzz_board_replies(const fuzz_reply_t **out);
/* Bytes written by the server since the last clear that did not decode as a
 * frame (text in MLPerf mode, or a broken frame). */
size_t fuzz_board_undecoded(void);
/* Total bytes the server wrote since the last clear. */
size_t fuzz_board_written(void);

/* Stop with a message (a finding: libFuzzer keeps the input). */
void fuzz_fail(const char *what) __attribute__((noreturn));

#endif /* EDGEKWS_FUZZ_BOARD_H */
