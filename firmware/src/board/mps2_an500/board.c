/*
 * board.c - board.h for the emulated Cortex-M7 (QEMU mps2-an500).
 *
 * UART: CMSDK APB UART0 at 0x40004000, which QEMU connects to its first
 * -serial backend (stdio, or a TCP socket the host's pyserial opens as
 * socket://127.0.0.1:PORT).
 *
 * Counter: QEMU does not model DWT CYCCNT (it reads 0), but under
 * `-icount shift=N` virtual time advances by 2^N ns per executed instruction
 * and SysTick (processor clock, 25 MHz) counts in that virtual time. One
 * SysTick tick is therefore 40 / 2^N instructions: a deterministic,
 * repeatable instruction count, reported as "instructions" (never cycles).
 * The host launches QEMU with the same shift (EDGEKWS_ICOUNT_SHIFT).
 *
 * Exit: semihosting SYS_EXIT_EXTENDED, which ends QEMU with the status when it
 * runs with `-semihosting-config enable=on,target=native`.
 */
#include <stddef.h>
#include <stdint.h>

#include "board_mps2.h"
#include "edgekws/board.h"

#ifndef EDGEKWS_ICOUNT_SHIFT
#define EDGEKWS_ICOUNT_SHIFT 0
#endif
#if EDGEKWS_ICOUNT_SHIFT < 0 || EDGEKWS_ICOUNT_SHIFT > 3
#error "EDGEKWS_ICOUNT_SHIFT must be 0..3 (one SysTick tick is 40 >> shift instructions)"
#endif

#define MPS2_SYSCLK_HZ 25000000u
#define NS_PER_TICK (1000000000u / MPS2_SYSCLK_HZ) /* 40 */

/* CMSDK APB UART0 */
#define UART0_BASE 0x40004000u
#define UART_DATA (*(volatile uint32_t *)(UART0_BASE + 0x00u))
#define UART_STATE (*(volatile uint32_t *)(UART0_BASE + 0x04u))
#define UART_CTRL (*(volatile uint32_t *)(UART0_BASE + 0x08u))
#define UART_BAUDDIV (*(volatile uint32_t *)(UART0_BASE + 0x10u))
#define UART_STATE_TXFULL (1u << 0)
#define UART_STATE_RXFULL (1u << 1)

/* SysTick */
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SYST_RELOAD 0x00FFFFFFu

#define SCB_AIRCR (*(volatile uint32_t *)0xE000ED0Cu)

/* SysTick wraps every 2^24 ticks (0.67 s virtual); the handler extends it. */
static volatile uint32_t systick_wraps;

void SysTick_Handler(void)
{
    systick_wraps++;
}

/* 64-bit tick count since board_init; consistent across a wrap. */
static uint64_t ticks64(void)
{
    uint32_t before, val, after;
    do {
        before = systick_wraps;
        val = SYST_CVR;
        after = systick_wraps;
    } while (before != after);
    return ((uint64_t)before << 24) | (uint64_t)(SYST_RELOAD - val);
}

void board_init(void)
{
    UART_BAUDDIV = MPS2_SYSCLK_HZ / 115200u;
    UART_CTRL = 0x3u; /* TX and RX enable, no interrupts */

    systick_wraps = 0;
    SYST_RVR = SYST_RELOAD;
    SYST_CVR = 0;
    SYST_CSR = 0x7u; /* processor clock, interrupt on wrap, enable */
}

const char *board_name(void)
{
    return "mps2_an500";
}

uint32_t board_clock_hz(void)
{
    return MPS2_SYSCLK_HZ;
}

static void uart_putc(uint8_t c)
{
    while (UART_STATE & UART_STATE_TXFULL) {
    }
    UART_DATA = c;
}

void board_uart_write(const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        uart_putc(buf[i]);
    }
}

int board_uart_read(uint8_t *byte, uint32_t timeout_ms)
{
    const uint32_t start = board_millis();
    for (;;) {
        if (UART_STATE & UART_STATE_RXFULL) {
            *byte = (uint8_t)UART_DATA;
            return 1;
        }
        if ((uint32_t)(board_millis() - start) >= timeout_ms) {
            return 0;
        }
    }
}

uint32_t board_counter(void)
{
    return (uint32_t)((ticks64() * NS_PER_TICK) >> EDGEKWS_ICOUNT_SHIFT);
}

const char *board_counter_unit(void)
{
    return "instructions";
}

uint32_t board_millis(void)
{
    return (uint32_t)(ticks64() / (MPS2_SYSCLK_HZ / 1000u));
}

void board_led(int on)
{
    (void)on; /* the AN500 LEDs are not worth a driver in the emulator */
}

void board_watchdog_kick(void)
{
}

/* ARM semihosting call (BKPT 0xAB in Thumb state). */
static int semihost(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return (int)r0;
}

#define SYS_EXIT_EXTENDED 0x20u
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u

void board_exit(int status)
{
    const uint32_t block[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint32_t)status};
    semihost(SYS_EXIT_EXTENDED, block);
    for (;;) {
        /* semihosting disabled: nothing left to do */
    }
}

void board_reset(void)
{
    __asm__ volatile("dsb" ::: "memory");
    SCB_AIRCR = (0x5FAu << 16) | (1u << 2); /* SYSRESETREQ */
    __asm__ volatile("dsb" ::: "memory");
    for (;;) {
    }
}

/* ---- fault-safe output used by startup.c ---- */

void mps2_puts(const char *s)
{
    while (*s != '\0') {
        uart_putc((uint8_t)*s++);
    }
}

void mps2_put_kv_hex(const char *key, uint32_t value)
{
    static const char digits[] = "0123456789abcdef";
    char buf[11];
    buf[0] = '0';
    buf[1] = 'x';
    for (int i = 0; i < 8; i++) {
        buf[2 + i] = digits[(value >> (28 - 4 * i)) & 0xFu];
    }
    buf[10] = '\0';
    mps2_puts(key);
    mps2_puts(buf);
}
