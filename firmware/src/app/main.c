/*
 * main.c - boot: board, then the self-test or the serial server.
 *
 * EDGEKWS_SELFTEST_ONLY (the emulator/CI image): run the self-test once and
 * end with its status (QEMU exits with it: 0 pass, 1 mismatch). Otherwise the
 * serial server takes the line (app_serve, src/app/server.c); with
 * EDGEKWS_BOOT_SELFTEST=1 it runs the self-test first.
 */
#include <stdint.h>
#include <string.h>

#include "edgekws/app.h"
#include "edgekws/board.h"
#include "edgekws_model.h"

#ifndef EDGEKWS_SELFTEST_ONLY
#define EDGEKWS_SELFTEST_ONLY 0
#endif
#ifndef EDGEKWS_BOOT_SELFTEST
#define EDGEKWS_BOOT_SELFTEST 0
#endif

#if EDGEKWS_SELFTEST_ONLY
static void put(const char *s)
{
    board_uart_write((const uint8_t *)s, strlen(s));
}
#endif

int main(void)
{
    board_init();
#if EDGEKWS_SELFTEST_ONLY
    put("edgekws selftest fw=" EDGEKWS_FW_VERSION " board=");
    put(board_name());
    put(" model=" EDGEKWS_MODEL_NAME "\r\n");
    const app_selftest_result_t r = app_selftest(1);
    board_exit((r.vectors > 0u && r.mismatches == 0u) ? 0 : 1);
#else
    if (EDGEKWS_BOOT_SELFTEST) {
        (void)app_selftest(1);
    }
    app_serve();
#endif
}
