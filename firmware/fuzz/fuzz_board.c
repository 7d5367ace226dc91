/*
 * fuzz_board.c - the fuzzing board: serial line = fuzz input, replies decoded.
 * See fuzz_board.h for why it exists.
 */
#include "fuzz_board.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgekws/board.h"

jmp_buf fuzz_jmp;

static const uint8_t *g_data;
static size_t g_size;
static size_t g_pos;
static proto_rx_t g_host_rx; /* the host's view of the device's output */
static fuzz_reply_t g_replies[FUZZ_MAX_REPLIES];
static size_t g_n_replies;
static size_t g_undecoded;
static size_t g_written;
static uint32_t g_clock;

void fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz finding: %s\n", what);
    abort();
}

void fuzz_board_feed(const uint8_t *data, size_t size)
{
    g_data = data;
    g_size = size;
    g_pos = 0;
}

void fuzz_board_clear(void)
{
    proto_rx_init(&g_host_rx);
    g_n_replies = 0;
    g_undecoded = 0;
    g_written = 0;
}

size_t fuzz_board_replies(const fuzz_reply_t **out)
{
    *out = g_replies;
    return g_n_replies;
}

size_t fuzz_board_undecoded(void) { return g_undecoded; }

size_t fuzz_board_written(void) { return g_written; }

void board_init(void) {}

const char *board_name(void) { return "fuzz"; }

uint32_t board_clock_hz(void) { return 1000000u; }

void board_uart_write(const uint8_t *buf, size_t len)
{
    g_written += len;
    for (size_t i = 0; i < len; i++) {
        proto_frame_t f;
        proto_status_t st = ST_OK;
        proto_rx_event_t ev = proto_rx_push(&g_host_rx, buf[i], &f, &st);
        if (ev == RX_FRAME) {
            if (g_n_replies < FUZZ_MAX_REPLIES) {
                fuzz_reply_t *r = &g_replies[g_n_replies];
                r->cmd = f.cmd;
                r->seq = f.seq;
                r->len = f.len;
                r->status = f.len > 0 ? f.payload[0] : 0xFFu;
            }
            g_n_replies++;
        } else if (ev == RX_ERROR) {
            g_undecoded++;
        }
    }
}

int board_uart_read(uint8_t *byte, uint32_t timeout_ms)
{
    (void)timeout_ms;
    if (g_pos >= g_size) {
        longjmp(fuzz_jmp, FUZZ_JMP_EOF);
    }
    *byte = g_data[g_pos++];
    return 1;
}

uint32_t board_counter(void) { return g_clock += 7u; }

const char *board_counter_unit(void) { return "instructions"; }

uint32_t board_millis(void) { return g_clock / 1000u; }

void board_led(int on) { (void)on; }
void board_timestamp_pin(void) {}

void board_exit(int status)
{
    (void)status;
    longjmp(fuzz_jmp, FUZZ_JMP_EXIT);
}

void board_reset(void) { longjmp(fuzz_jmp, FUZZ_JMP_RESET); }

void board_watchdog_kick(void) {}

size_t board_stack_used(void) { return 0; }

size_t board_stack_size(void) { return 0; }
