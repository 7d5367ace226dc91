/*
 * board_mps2.h - private helpers shared by the mps2_an500 board files.
 */
#ifndef EDGEKWS_BOARD_MPS2_H
#define EDGEKWS_BOARD_MPS2_H

#include <stdint.h>

/* Exit statuses the host reads from QEMU (see edgekws.device.emulator). */
#ifndef EDGEKWS_EXIT_FAULT
#define EDGEKWS_EXIT_FAULT 70
#endif

/* Fault-safe output: polls the UART, needs no interrupt. */
void mps2_puts(const char *s);
void mps2_put_kv_hex(const char *key, uint32_t value);

#endif /* EDGEKWS_BOARD_MPS2_H */
