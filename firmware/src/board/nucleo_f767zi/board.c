/*
 * board.c - board.h for the ST Nucleo-F767ZI (STM32F767ZI, Cortex-M7).
 *
 * Clock tree (RM0410 section 5): the ST-LINK drives an 8 MHz MCO into OSC_IN,
 * so HSE runs in bypass mode. PLL: 8 MHz / M=4 = 2 MHz VCO input (the
 * recommended value: 1..2 MHz), x N=216 = 432 MHz VCO (limit 100..432 MHz),
 * / P=2 = 216 MHz SYSCLK, / Q=9 = 48 MHz for USB. 216 MHz needs voltage scale 1
 * with over-drive and 7 flash wait states (2.7..3.6 V, 210..216 MHz).
 * AHB /1 = 216 MHz, APB1 /4 = 54 MHz (max 54), APB2 /2 = 108 MHz (max 108).
 * If HSE does not start (MCO not wired), the PLL runs from HSI 16 MHz / M=8
 * instead, to the same 216 MHz, and the banner says so. If over-drive, the
 * PLL lock, the flash latency or the switch time out, the core stays on HSI
 * 16 MHz (never 216 MHz out of spec): board_clock_hz() says 16000000 and
 * board_name() "nucleo_f767zi(clock-fault)", which hello and self-test print.
 * The sequence lives in clock.c behind a register-access seam (host-tested).
 *
 * L1 I- and D-cache on (code and weights are read from flash over AXIM),
 * ART accelerator and prefetch on. DWT CYCCNT counts core cycles.
 * SysTick gives a 1 kHz millisecond tick. USART3 (PD8 TX, PD9 RX, AF7) at
 * 115200 8N1 is the ST-LINK virtual COM port. LEDs: LD1 green PB0,
 * LD2 blue PB7, LD3 red PB14. Optional IWDG (EDGEKWS_WATCHDOG_MS > 0).
 */
#include <stddef.h>
#include <stdint.h>

#include "board_nucleo.h"
#include "clock.h"
#include "edgekws/board.h"

#ifndef EDGEKWS_MLPERF_ENERGY
#define EDGEKWS_MLPERF_ENERGY 0
#endif
/* EEMBC energy mode: the DUT talks to the energy monitor's IO manager at 9600 baud, not the VCP's 115200 */
#define BAUD (EDGEKWS_MLPERF_ENERGY ? 9600u : 115200u)

/* The independent watchdog (IWDG) is on by default: a hung device resets and
 * announces itself with its boot frame, which the bench harness detects. The
 * server loop, the self-test and every blocking wait kick it; the longest
 * unkicked stretch is one inference (~0.2 s for DS-CNN-S on ref kernels).
 * Build with -DEDGEKWS_WATCHDOG_MS=0 to leave it off (e.g. when single-stepping). */
#ifndef EDGEKWS_WATCHDOG_MS
#define EDGEKWS_WATCHDOG_MS 4000
#endif

#define HSE_TIMEOUT 100000u

static volatile uint32_t ms_ticks;
static nucleo_clock_t g_clock; /* what clock_init really achieved */

void SysTick_Handler(void)
{
    ms_ticks++;
}

static uint32_t reg_read(void *ctx, uint32_t addr)
{
    (void)ctx;
    return *(volatile uint32_t *)addr;
}

static void reg_write(void *ctx, uint32_t addr, uint32_t value)
{
    (void)ctx;
    *(volatile uint32_t *)addr = value;
}

static void clock_init(void)
{
    static const nucleo_reg_io_t io = {reg_read, reg_write, NULL};
    g_clock = nucleo_clock_setup(&io, HSE_TIMEOUT);
}

static void cache_init(void)
{
    /* I-cache: invalidate, enable. */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    SCB_ICIALLU = 0u;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    SCB_CCR |= (1u << 17);
    __asm__ volatile("dsb\n\tisb" ::: "memory");

    /* D-cache: invalidate every set/way of level 1, enable. */
    SCB_CSSELR = 0u;
    __asm__ volatile("dsb" ::: "memory");
    const uint32_t ccsidr = SCB_CCSIDR;
    const uint32_t sets = ((ccsidr >> 13) & 0x7FFFu) + 1u;
    const uint32_t ways = ((ccsidr >> 3) & 0x3FFu) + 1u;
    for (uint32_t set = 0; set < sets; set++) {
        for (uint32_t way = 0; way < ways; way++) {
            SCB_DCISW = (way << 30) | (set << 5); /* 4 ways, 32-byte lines on the M7 */
        }
    }
    __asm__ volatile("dsb" ::: "memory");
    SCB_CCR |= (1u << 16);
    __asm__ volatile("dsb\n\tisb" ::: "memory");
}

static void uart_init(void)
{
    RCC_AHB1ENR |= (1u << 3); /* GPIODEN */
    RCC_APB1ENR |= (1u << 18); /* USART3EN */
    (void)RCC_APB1ENR;
    RCC_DCKCFGR2 &= ~(3u << 4); /* USART3 clock = PCLK1 */

    /* PD8, PD9: alternate function 7, high speed, pull-up on RX. */
    GPIO_MODER(GPIOD_BASE) = (GPIO_MODER(GPIOD_BASE) & ~(0xFu << 16)) | (0xAu << 16);
    GPIO_OSPEEDR(GPIOD_BASE) |= (0xFu << 16);
    GPIO_PUPDR(GPIOD_BASE) = (GPIO_PUPDR(GPIOD_BASE) & ~(0xFu << 16)) | (0x4u << 16);
    GPIO_AFRH(GPIOD_BASE) = (GPIO_AFRH(GPIOD_BASE) & ~0xFFu) | 0x77u;

    USART_CR1 = 0u;
    USART_BRR = (g_clock.pclk1_hz + BAUD / 2u) / BAUD; /* 54 MHz: 469 = 115138 baud, -0.05 %; 16 MHz: 139 */
    USART_CR1 = (1u << 3) | (1u << 2) | 1u;   /* TE, RE, UE */
}

static void led_init(void)
{
    RCC_AHB1ENR |= (1u << 1); /* GPIOBEN */
    (void)RCC_AHB1ENR;
    const uint32_t pins = (1u << (0 * 2)) | (1u << (7 * 2)) | (1u << (14 * 2)); /* general output */
    const uint32_t mask = (3u << (0 * 2)) | (3u << (7 * 2)) | (3u << (14 * 2));
    GPIO_MODER(GPIOB_BASE) = (GPIO_MODER(GPIOB_BASE) & ~mask) | pins;
    GPIO_BSRR(GPIOB_BASE) = ((1u << 0) | (1u << 7) | (1u << 14)) << 16; /* all off */
}

/* PF13 (Arduino D7): push-pull output, idle high, for the EEMBC energy-mode timestamp. */
static void timestamp_pin_init(void)
{
    RCC_AHB1ENR |= (1u << 5); /* GPIOFEN */
    (void)RCC_AHB1ENR;
    GPIO_BSRR(GPIOF_BASE) = 1u << 13; /* high before it becomes an output: no false edge */
    GPIO_MODER(GPIOF_BASE) = (GPIO_MODER(GPIOF_BASE) & ~(3u << (13 * 2))) | (1u << (13 * 2));
    GPIO_OSPEEDR(GPIOF_BASE) |= 3u << (13 * 2);
}

static void counter_init(void)
{
    DEMCR |= (1u << 24); /* TRCENA */
    DWT_LAR = 0xC5ACCE55u; /* software lock on the M7's DWT */
    DWT_CYCCNT = 0u;
    DWT_CTRL |= 1u; /* CYCCNTENA */

    ms_ticks = 0u;
    SYST_RVR = g_clock.sysclk_hz / 1000u - 1u;
    SYST_CVR = 0u;
    SYST_CSR = 0x7u; /* core clock, interrupt, enable */
}

static void watchdog_init(void)
{
#if EDGEKWS_WATCHDOG_MS > 0
    /* LSI ~32 kHz / 256 = 125 Hz; the reload register is 12 bits (max ~32 s). */
    uint32_t reload = (uint32_t)EDGEKWS_WATCHDOG_MS * 125u / 1000u;
    if (reload > 0xFFFu) {
        reload = 0xFFFu;
    }
    IWDG_KR = 0xCCCCu; /* start */
    IWDG_KR = 0x5555u; /* unlock PR/RLR */
    IWDG_PR = 6u;      /* /256 */
    IWDG_RLR = reload;
    for (uint32_t tries = HSE_TIMEOUT; IWDG_SR != 0u && tries != 0u; tries--) {
    }
    IWDG_KR = 0xAAAAu;
#endif
}

void board_init(void)
{
    clock_init();
    cache_init();
    led_init();
    timestamp_pin_init();
    uart_init();
    counter_init();
    watchdog_init();
}

const char *board_name(void)
{
    if (g_clock.faults != 0u) {
        return "nucleo_f767zi(clock-fault)"; /* on HSI 16 MHz: cycle figures are not the 216 MHz ones */
    }
    return g_clock.from_hse ? "nucleo_f767zi" : "nucleo_f767zi(hsi)";
}

uint32_t board_clock_hz(void)
{
    return g_clock.sysclk_hz;
}

static void uart_putc(uint8_t c)
{
    while ((USART_ISR & USART_ISR_TXE) == 0u) {
    }
    USART_TDR = c;
}

void board_uart_write(const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        uart_putc(buf[i]);
    }
}

int board_uart_read(uint8_t *byte, uint32_t timeout_ms)
{
    const uint32_t start = ms_ticks;
    for (;;) {
        const uint32_t isr = USART_ISR;
        if (isr & USART_ISR_ORE) {
            USART_ICR = USART_ISR_ORE; /* a lost byte; the protocol's CRC notices */
        }
        if (isr & USART_ISR_RXNE) {
            *byte = (uint8_t)USART_RDR;
            return 1;
        }
        if ((uint32_t)(ms_ticks - start) >= timeout_ms) {
            return 0;
        }
    }
}

uint32_t board_counter(void)
{
    return DWT_CYCCNT;
}

const char *board_counter_unit(void)
{
    return "cycles";
}

uint32_t board_millis(void)
{
    return ms_ticks;
}

void board_led(int on)
{
    GPIO_BSRR(GPIOB_BASE) = on ? (1u << 0) : (1u << 16); /* LD1 green */
}

void board_watchdog_kick(void)
{
#if EDGEKWS_WATCHDOG_MS > 0
    IWDG_KR = 0xAAAAu;
#endif
}

/* On a board "exit" reports the status, shows it on the LEDs (green: 0,
 * red: failure) and resets when the host sends any byte, so a self-test
 * image does not loop its report forever. */
void board_exit(int status)
{
    static const char digits[] = "0123456789";
    char buf[4];
    const uint32_t s = (uint32_t)status & 0xFFu;
    buf[0] = digits[s / 100u];
    buf[1] = digits[(s / 10u) % 10u];
    buf[2] = digits[s % 10u];
    buf[3] = '\0';
    nucleo_puts("exit status=");
    nucleo_puts(s >= 100u ? buf : (s >= 10u ? buf + 1 : buf + 2));
    nucleo_puts(" (send any byte to reset)\r\n");
    nucleo_uart_flush();
    if (status == 0) {
        board_led(1);
    } else {
        nucleo_led_fault();
    }
    uint8_t byte;
    while (!board_uart_read(&byte, 100u)) {
        board_watchdog_kick();
    }
    board_reset();
}

void board_reset(void)
{
    nucleo_uart_flush();
    __asm__ volatile("dsb" ::: "memory");
    SCB_AIRCR = (0x5FAu << 16) | (1u << 2); /* VECTKEY | SYSRESETREQ */
    __asm__ volatile("dsb" ::: "memory");
    for (;;) {
    }
}

/* ---- fault-safe helpers used by startup.c ---- */

void nucleo_puts(const char *s)
{
    while (*s != '\0') {
        uart_putc((uint8_t)*s++);
    }
}

void nucleo_put_kv_hex(const char *key, uint32_t value)
{
    static const char hex[] = "0123456789abcdef";
    char buf[11];
    buf[0] = '0';
    buf[1] = 'x';
    for (int i = 0; i < 8; i++) {
        buf[2 + i] = hex[(value >> (28 - 4 * i)) & 0xFu];
    }
    buf[10] = '\0';
    nucleo_puts(key);
    nucleo_puts(buf);
}

void nucleo_uart_flush(void)
{
    if ((USART_CR1 & 1u) == 0u) {
        return; /* UART never initialised (fault before board_init) */
    }
    while ((USART_ISR & USART_ISR_TC) == 0u) {
    }
}

void board_timestamp_pin(void)
{
    GPIO_BSRR(GPIOF_BASE) = 1u << (13 + 16); /* low: the monitor latches this falling edge */
    nucleo_delay_cycles(g_clock.sysclk_hz / 1000000u + 1u); /* held low > 1 us, as the EEMBC spec asks */
    GPIO_BSRR(GPIOF_BASE) = 1u << 13;
}

void nucleo_led_fault(void)
{
    GPIO_BSRR(GPIOB_BASE) = (1u << 14); /* LD3 red */
}

void nucleo_delay_cycles(uint32_t cycles)
{
    if ((DWT_CTRL & 1u) == 0u) {
        return; /* counter not running yet */
    }
    const uint32_t start = DWT_CYCCNT;
    while ((uint32_t)(DWT_CYCCNT - start) < cycles) {
        board_watchdog_kick();
    }
}
