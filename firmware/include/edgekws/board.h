/*
 * board.h - the one seam between portable code and a board.
 *
 * The protocol, the app and the nn runner never touch registers: everything
 * board-specific lives in firmware/src/board/<board>/ behind these functions
 * (as in MLPerf Tiny's port layer). A host "board" implements the same
 * interface so the app can be built and tested on x86.
 */
#ifndef EDGEKWS_BOARD_H
#define EDGEKWS_BOARD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Clocks, caches, UART, counters. Called once, first thing in main(). */
void board_init(void);

/* Short board name, e.g. "nucleo_f767zi", "mps2_an500", "host". */
const char *board_name(void);

/* Core clock in Hz (216000000 on the Nucleo; the nominal clock elsewhere). */
uint32_t board_clock_hz(void);

/* Blocking write of len bytes to the serial port. */
void board_uart_write(const uint8_t *buf, size_t len);

/* Read one byte; returns 1 and stores it, or 0 when nothing arrived within
 * timeout_ms (0 = poll once). Never blocks longer than timeout_ms. */
int board_uart_read(uint8_t *byte, uint32_t timeout_ms);

/* Free-running performance counter. On a board: DWT CYCCNT (cycles). On the
 * emulator: an instruction estimate from QEMU's -icount virtual clock.
 * board_counter_unit() says which: "cycles" or "instructions". Never mix. */
uint32_t board_counter(void);
const char *board_counter_unit(void);

/* Milliseconds since board_init (wall clock on a board, virtual in QEMU). */
uint32_t board_millis(void);

/* User LED, where the board has one (no-op otherwise). */
void board_led(int on);

/* The EEMBC energy-mode timestamp (MLPerf Tiny energy runs): pull the timestamp
 * GPIO low for at least 1 us, then high again; the energy monitor records the
 * falling edge. The pin idles high from board_init. Nucleo: PF13 (Arduino D7
 * on the ZIO header); emulator: bit 0 of the FPGAIO LED register (QEMU's mps2_fpgaio_write
 * trace shows the edges); host: one stderr line per pulse. */
void board_timestamp_pin(void);

/* End the program: semihosting exit with status on the emulator, exit() on
 * the host, a system reset on a board (status is reported first). */
void board_exit(int status) __attribute__((noreturn));

/* Software reset (the device comes back with its hello banner). */
void board_reset(void) __attribute__((noreturn));

/* Kick the watchdog where there is one (no-op otherwise). */
void board_watchdog_kick(void);

/* Lowest address the stack has reached since boot (stack painting), and the
 * stack region; used for the stack high-water mark. 0 if unknown. */
size_t board_stack_used(void);
size_t board_stack_size(void);

#ifdef __cplusplus
}
#endif

#endif /* EDGEKWS_BOARD_H */
