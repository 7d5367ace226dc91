/*
 * clock.c - the Nucleo-F767ZI clock tree (RM0410 section 5), every wait bounded and checked.
 *
 * PLL: 8 MHz HSE (bypass, ST-LINK MCO) / M=4 = 2 MHz VCO input, x N=216 = 432 MHz VCO, / P=2 = 216 MHz
 * SYSCLK, / Q=9 = 48 MHz. From HSI 16 MHz: M=8, same result. 216 MHz is only in spec with voltage scale 1,
 * over-drive on and 7 flash wait states (2.7..3.6 V); AHB /1, APB1 /4 = 54 MHz, APB2 /2 = 108 MHz.
 * The switch to the PLL happens only when over-drive, PLL lock and the flash latency are all confirmed;
 * otherwise the core stays on HSI 16 MHz (0 wait states, prescalers /1) and the faults are reported, so
 * the board never runs out of spec and says what it really runs at (board_clock_hz, board_name).
 */
#include "clock.h"

#define CR_HSION (1u << 0)
#define CR_HSIRDY (1u << 1)
#define CR_HSEON (1u << 16)
#define CR_HSERDY (1u << 17)
#define CR_HSEBYP (1u << 18)
#define CR_PLLON (1u << 24)
#define CR_PLLRDY (1u << 25)
#define APB1ENR_PWREN (1u << 28)
#define PWR_CR1_VOS_MASK (3u << 14)
#define PWR_CR1_VOS_SCALE1 (3u << 14)
#define PWR_CR1_ODEN (1u << 16)
#define PWR_CR1_ODSWEN (1u << 17)
#define PWR_CSR1_ODRDY (1u << 16)
#define PWR_CSR1_ODSWRDY (1u << 17)
#define ACR_LATENCY_MASK 0xFu
#define ACR_LATENCY_216MHZ 7u
#define ACR_ARTEN_PRFTEN ((1u << 8) | (1u << 9))
#define CFGR_SW_MASK 3u
#define CFGR_SW_HSI 0u
#define CFGR_SW_PLL 2u
#define CFGR_PRE_MASK ((0xFu << 4) | (7u << 10) | (7u << 13))
#define CFGR_PRE_216MHZ ((5u << 10) | (4u << 13)) /* AHB /1, APB1 /4, APB2 /2 */

#define PLL_N 216u
#define PLL_P_DIV2 0u
#define PLL_Q 9u
#define PLL_R 2u

static uint32_t rd(const nucleo_reg_io_t *io, uint32_t addr)
{
    return io->read(io->ctx, addr);
}

static void wr(const nucleo_reg_io_t *io, uint32_t addr, uint32_t value)
{
    io->write(io->ctx, addr, value);
}

static void set_bits(const nucleo_reg_io_t *io, uint32_t addr, uint32_t bits)
{
    wr(io, addr, rd(io, addr) | bits);
}

static void clear_bits(const nucleo_reg_io_t *io, uint32_t addr, uint32_t bits)
{
    wr(io, addr, rd(io, addr) & ~bits);
}

/* 1 once (reg & mask) == want, 0 after `tries` reads without it. */
static int wait_for(const nucleo_reg_io_t *io, uint32_t addr, uint32_t mask, uint32_t want, uint32_t tries)
{
    for (;;) {
        if ((rd(io, addr) & mask) == want) {
            return 1;
        }
        if (tries-- == 0u) {
            return 0;
        }
    }
}

/* Back to HSI 16 MHz, in the order that keeps every step in spec: the clock down first, then the flash
 * wait states (0 are enough up to 30 MHz), then the PLL and over-drive off. */
static void fall_back_to_hsi(const nucleo_reg_io_t *io, uint32_t tries)
{
    set_bits(io, NUCLEO_RCC_CR, CR_HSION);
    (void)wait_for(io, NUCLEO_RCC_CR, CR_HSIRDY, CR_HSIRDY, tries);
    wr(io, NUCLEO_RCC_CFGR, (rd(io, NUCLEO_RCC_CFGR) & ~(CFGR_SW_MASK | CFGR_PRE_MASK)) | CFGR_SW_HSI);
    (void)wait_for(io, NUCLEO_RCC_CFGR, CFGR_SW_MASK << 2, CFGR_SW_HSI << 2, tries);
    wr(io, NUCLEO_FLASH_ACR, (rd(io, NUCLEO_FLASH_ACR) & ~ACR_LATENCY_MASK) | ACR_ARTEN_PRFTEN);
    clear_bits(io, NUCLEO_RCC_CR, CR_PLLON);
    clear_bits(io, NUCLEO_PWR_CR1, PWR_CR1_ODSWEN);
    clear_bits(io, NUCLEO_PWR_CR1, PWR_CR1_ODEN);
}

nucleo_clock_t nucleo_clock_setup(const nucleo_reg_io_t *io, uint32_t tries)
{
    nucleo_clock_t c = {NUCLEO_HSI_HZ, NUCLEO_HSI_HZ, 0u, 0};

    /* 1. HSE in bypass mode from the ST-LINK MCO; the PLL runs from HSI when it does not start. */
    set_bits(io, NUCLEO_RCC_CR, CR_HSEBYP);
    set_bits(io, NUCLEO_RCC_CR, CR_HSEON);
    c.from_hse = wait_for(io, NUCLEO_RCC_CR, CR_HSERDY, CR_HSERDY, tries);
    if (!c.from_hse) {
        clear_bits(io, NUCLEO_RCC_CR, CR_HSEON | CR_HSEBYP);
    }

    /* 2. Voltage scale 1 (only writable with the PLL off), then the PLL. */
    set_bits(io, NUCLEO_RCC_APB1ENR, APB1ENR_PWREN);
    (void)rd(io, NUCLEO_RCC_APB1ENR);
    wr(io, NUCLEO_PWR_CR1, (rd(io, NUCLEO_PWR_CR1) & ~PWR_CR1_VOS_MASK) | PWR_CR1_VOS_SCALE1);
    const uint32_t pll_m = (c.from_hse ? NUCLEO_HSE_HZ : NUCLEO_HSI_HZ) / 2000000u;
    wr(io, NUCLEO_RCC_PLLCFGR, pll_m | (PLL_N << 6) | (PLL_P_DIV2 << 16) | ((c.from_hse ? 1u : 0u) << 22) |
                                   (PLL_Q << 24) | (PLL_R << 28));
    set_bits(io, NUCLEO_RCC_CR, CR_PLLON);

    /* 3. Over-drive (above 180 MHz): enable, then switch. */
    set_bits(io, NUCLEO_PWR_CR1, PWR_CR1_ODEN);
    if (!wait_for(io, NUCLEO_PWR_CSR1, PWR_CSR1_ODRDY, PWR_CSR1_ODRDY, tries)) {
        c.faults |= NUCLEO_CLOCK_OVERDRIVE;
    } else {
        set_bits(io, NUCLEO_PWR_CR1, PWR_CR1_ODSWEN);
        if (!wait_for(io, NUCLEO_PWR_CSR1, PWR_CSR1_ODSWRDY, PWR_CSR1_ODSWRDY, tries)) {
            c.faults |= NUCLEO_CLOCK_OVERDRIVE_SWITCH;
        }
    }

    /* 4. PLL lock. */
    if (c.faults == 0u && !wait_for(io, NUCLEO_RCC_CR, CR_PLLRDY, CR_PLLRDY, tries * 10u)) {
        c.faults |= NUCLEO_CLOCK_PLL_LOCK;
    }

    /* 5. Flash: 7 wait states (read back), ART accelerator and prefetch, before the switch. */
    if (c.faults == 0u) {
        wr(io, NUCLEO_FLASH_ACR, ACR_LATENCY_216MHZ | ACR_ARTEN_PRFTEN);
        if (!wait_for(io, NUCLEO_FLASH_ACR, ACR_LATENCY_MASK, ACR_LATENCY_216MHZ, tries)) {
            c.faults |= NUCLEO_CLOCK_FLASH_LATENCY;
        }
    }

    /* 6. Bus prescalers, then SYSCLK = PLL, confirmed by SWS. */
    if (c.faults == 0u) {
        wr(io, NUCLEO_RCC_CFGR, (rd(io, NUCLEO_RCC_CFGR) & ~CFGR_PRE_MASK) | CFGR_PRE_216MHZ);
        wr(io, NUCLEO_RCC_CFGR, (rd(io, NUCLEO_RCC_CFGR) & ~CFGR_SW_MASK) | CFGR_SW_PLL);
        if (!wait_for(io, NUCLEO_RCC_CFGR, CFGR_SW_MASK << 2, CFGR_SW_PLL << 2, tries)) {
            c.faults |= NUCLEO_CLOCK_SWITCH;
        }
    }

    if (c.faults != 0u) {
        fall_back_to_hsi(io, tries);
        return c;
    }
    c.sysclk_hz = NUCLEO_SYSCLK_HZ;
    c.pclk1_hz = NUCLEO_SYSCLK_HZ / 4u;
    return c;
}
