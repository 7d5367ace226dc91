/*
 * clock.h - the Nucleo-F767ZI clock set-up (internal to this board directory).
 *
 * Why a seam: the set-up is a sequence of decisions on ready flags (HSE,
 * over-drive, PLL lock, flash latency, clock switch), and every one of them can
 * time out on real silicon. Reaching registers only through nucleo_reg_io_t
 * lets the host test drive the same code against a model of RCC/PWR/FLASH in
 * which any step fails (tests/test_nucleo_clock.py); board.c passes plain
 * volatile accesses.
 */
#ifndef EDGEKWS_NUCLEO_CLOCK_H
#define EDGEKWS_NUCLEO_CLOCK_H

#include <stdint.h>

#define NUCLEO_HSE_HZ 8000000u
#define NUCLEO_HSI_HZ 16000000u
#define NUCLEO_SYSCLK_HZ 216000000u

/* Register addresses the set-up touches (RM0410). */
#define NUCLEO_RCC_CR 0x40023800u
#define NUCLEO_RCC_PLLCFGR 0x40023804u
#define NUCLEO_RCC_CFGR 0x40023808u
#define NUCLEO_RCC_APB1ENR 0x40023840u
#define NUCLEO_PWR_CR1 0x40007000u
#define NUCLEO_PWR_CSR1 0x40007004u
#define NUCLEO_FLASH_ACR 0x40023C00u

/* What went wrong (bits of nucleo_clock_t.faults). Any of them: the core stays on HSI 16 MHz. */
#define NUCLEO_CLOCK_OVERDRIVE (1u << 0)        /* ODRDY never came */
#define NUCLEO_CLOCK_OVERDRIVE_SWITCH (1u << 1) /* ODSWRDY never came */
#define NUCLEO_CLOCK_PLL_LOCK (1u << 2)         /* PLLRDY never came */
#define NUCLEO_CLOCK_FLASH_LATENCY (1u << 3)    /* 7 wait states did not read back */
#define NUCLEO_CLOCK_SWITCH (1u << 4)           /* SWS never showed the PLL */

typedef struct {
    uint32_t (*read)(void *ctx, uint32_t addr);
    void (*write)(void *ctx, uint32_t addr, uint32_t value);
    void *ctx;
} nucleo_reg_io_t;

typedef struct {
    uint32_t sysclk_hz; /* the core clock really running: 216 MHz, or 16 MHz (HSI) after a fault */
    uint32_t pclk1_hz;  /* APB1 (USART3's clock) */
    uint32_t faults;    /* NUCLEO_CLOCK_* bits, 0 when the 216 MHz configuration is up */
    int from_hse;       /* the PLL runs from HSE (ST-LINK MCO); 0: from HSI */
} nucleo_clock_t;

/* Bring the core to 216 MHz (HSE bypass, or HSI when HSE does not start), or, when any step times out,
 * leave it on HSI 16 MHz with 0 flash wait states, PLL and over-drive off. tries bounds every wait. */
nucleo_clock_t nucleo_clock_setup(const nucleo_reg_io_t *io, uint32_t tries);

#endif /* EDGEKWS_NUCLEO_CLOCK_H */
