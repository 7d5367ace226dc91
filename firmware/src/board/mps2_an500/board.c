/*
 * board.c - board.h for the emulated Cortex-M7 (QEMU mps2-an500).
 *
 * UART: CMSDK APB UART0 at 0x40004000, which QEMU connects to its first
 * -serial backend (stdio, or a TCP socket the host's pyserial opens as
 * socket://127.0.0.1:PORT).
 *
 * Counter: QEMU does not model DWT CYCCNT (it reads 0), but under
 * `-icount shift=N,sleep=off` virtual time advances by exactly 2^N ns per
 * executed instruction, and the CMSDK APB timer 0 (25 MHz, one tick = 40 ns)
 * counts in that virtual time. With N = 8 one instruction is 256 ns = 6.4
 * ticks, so the tick count pins down the instruction count exactly: every
 * reading t = ticks * 40 lies within one tick (40 ns) of a fixed phase of the
 * 256 ns instruction grid. board_init measures that phase once and puts the
 * rounding boundary half an instruction away from it, so
 *     instructions = (ticks * 40 + offset) >> N
 * is exact to 1 instruction (at shift=0, one tick was 40 instructions: the
 * old counter's resolution). The count is deterministic and repeatable and is
 * reported as "instructions" (never cycles). The host launches QEMU with the
 * same shift (EDGEKWS_ICOUNT_SHIFT, firmware/build_config.py).
 * No interrupt is used (a wrap handler's instructions would be counted in
 * whatever layer it interrupted). The 32-bit tick counter wraps every 2^32
 * ticks (671 M instructions at N = 8); the dual timer's counter 1, prescaled
 * by 256, runs beside it and tells how many whole wraps passed, so the 64-bit
 * tick count needs no read between wraps (its own wrap is 2^40 ticks away,
 * 12 h of virtual time).
 *
 * Exit: semihosting SYS_EXIT_EXTENDED, which ends QEMU with the status when it
 * runs with `-semihosting-config enable=on,target=native`.
 */
#include <stddef.h>
#include <stdint.h>

#include "board_mps2.h"
#include "edgekws/board.h"

#ifndef EDGEKWS_ICOUNT_SHIFT
#define EDGEKWS_ICOUNT_SHIFT 8 /* firmware/build_config.py passes the same */
#endif
#if EDGEKWS_ICOUNT_SHIFT < 7 || EDGEKWS_ICOUNT_SHIFT > 10
#error "EDGEKWS_ICOUNT_SHIFT must be 7..10: an instruction must span > 2 timer ticks (80 ns) for exact counts"
#endif
#define NS_PER_INSN (1u << EDGEKWS_ICOUNT_SHIFT)

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

/* FPGAIO LED register: bit 0 stands in for the EEMBC timestamp GPIO (QEMU traces its writes) */
#define FPGAIO_LED (*(volatile uint32_t *)0x40028000u)

/* CMSDK APB timer 0: 32-bit down-counter at the 25 MHz system clock */
#define TIMER0_BASE 0x40000000u
#define TIMER0_CTRL (*(volatile uint32_t *)(TIMER0_BASE + 0x00u))
#define TIMER0_VALUE (*(volatile uint32_t *)(TIMER0_BASE + 0x04u))
#define TIMER0_RELOAD (*(volatile uint32_t *)(TIMER0_BASE + 0x08u))
#define TIMER_CTRL_ENABLE 1u
/* CMSDK APB dual timer, counter 1: the coarse count (ticks / 256) */
#define DUALT1_BASE 0x40002000u
#define DUALT1_LOAD (*(volatile uint32_t *)(DUALT1_BASE + 0x00u))
#define DUALT1_VALUE (*(volatile uint32_t *)(DUALT1_BASE + 0x04u))
#define DUALT1_CTRL (*(volatile uint32_t *)(DUALT1_BASE + 0x08u))
#define DUALT_CTRL_32BIT (1u << 1)
#define DUALT_CTRL_PRESCALE_256 (2u << 2)
#define DUALT_CTRL_ENABLE (1u << 7)
#define COARSE_SHIFT 8u /* one coarse tick is 256 ticks */

#define SCB_AIRCR (*(volatile uint32_t *)0xE000ED0Cu)

/* SysTick stays off (see the counter note above); the vector table still names its handler. */
void SysTick_Handler(void)
{
}

static uint32_t fine0, coarse0; /* counter values at board_init */
static uint32_t insn_offset;     /* rounding offset in ns, measured by board_init (see the note above) */

/* Ticks since board_init: the exact low 32 bits from timer 0, the number of 2^32 wraps from the coarse
 * counter (within a few hundred ticks of the truth, far from the 2^31 that would make it ambiguous). */
static uint64_t ticks64(void)
{
    const uint32_t fine = fine0 - TIMER0_VALUE; /* down-counters: elapsed modulo 2^32 */
    const uint64_t coarse = (uint64_t)(uint32_t)(coarse0 - DUALT1_VALUE) << COARSE_SHIFT;
    const uint64_t wraps = (coarse + (UINT64_C(1) << 31) - fine) >> 32;
    return (wraps << 32) + fine;
}

void board_init(void)
{
    FPGAIO_LED = 1u; /* timestamp pin idles high */
    UART_BAUDDIV = MPS2_SYSCLK_HZ / 115200u;
    UART_CTRL = 0x3u; /* TX and RX enable, no interrupts */

    TIMER0_CTRL = 0;
    TIMER0_RELOAD = 0xFFFFFFFFu;
    TIMER0_VALUE = 0xFFFFFFFFu;
    DUALT1_CTRL = 0;
    DUALT1_LOAD = 0xFFFFFFFFu;
    /* both free-running, no interrupt; started back to back so they agree to a few ticks */
    TIMER0_CTRL = TIMER_CTRL_ENABLE;
    DUALT1_CTRL = DUALT_CTRL_ENABLE | DUALT_CTRL_32BIT | DUALT_CTRL_PRESCALE_256;
    fine0 = TIMER0_VALUE;
    coarse0 = DUALT1_VALUE;
    /* Phase of the tick grid against the instruction grid: every later reading's ticks * 40 lies within
     * 40 ns of this one's position modulo NS_PER_INSN; round half an instruction away from it. */
    const uint32_t phase = (uint32_t)((ticks64() * NS_PER_TICK) % NS_PER_INSN);
    insn_offset = (NS_PER_INSN / 2u + NS_PER_INSN - phase) % NS_PER_INSN;
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
    return (uint32_t)((ticks64() * NS_PER_TICK + insn_offset) >> EDGEKWS_ICOUNT_SHIFT);
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

void board_timestamp_pin(void)
{
    FPGAIO_LED = 0u;
    const uint64_t t0 = ticks64();
    while (ticks64() - t0 < MPS2_SYSCLK_HZ / 1000000u) { /* held low 1 us of virtual time */
    }
    FPGAIO_LED = 1u;
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
