/*
 * nucleo_clock_model.c - a model of the STM32F767's RCC / PWR / FLASH ready flags for the host test of
 * firmware/src/board/nucleo_f767zi/clock.c (tests/test_nucleo_clock.py).
 *
 * Each ready flag follows its enable bit unless the scenario makes that step fail (the flag then never
 * comes, as on a board whose over-drive regulator, PLL or flash interface does not respond). After every
 * write the model checks the electrical spec: while SYSCLK is the PLL (216 MHz) it needs voltage scale 1,
 * over-drive ready and switched, and 7 flash wait states in effect; any breach is counted.
 */
#include <stdint.h>
#include <string.h>

#include "clock.h"

typedef struct {
    uint32_t cr, pllcfgr, cfgr, apb1enr, pwr_cr1, pwr_csr1, acr;
    uint32_t latency; /* wait states in effect (what ACR reads back) */
    int hse_works, od_works, odsw_works, pll_locks, flash_works, switch_works;
    int violations, unknown_access;
} model_t;

static int on_pll(const model_t *m)
{
    return ((m->cfgr >> 2) & 3u) == 2u;
}

static void check_spec(model_t *m)
{
    if (!on_pll(m)) {
        return; /* 16 MHz HSI: in spec at any voltage scale and wait states */
    }
    const int vos1 = ((m->pwr_cr1 >> 14) & 3u) == 3u;
    const int od = (m->pwr_csr1 & (3u << 16)) == (3u << 16);
    if (!vos1 || !od || m->latency < 7u || !(m->cr & (1u << 25))) {
        m->violations++;
    }
}

static void update_flags(model_t *m)
{
    m->cr = (m->cr & ~((1u << 1) | (1u << 17) | (1u << 25))) | ((m->cr & 1u) << 1) |
            ((m->hse_works && (m->cr & (1u << 16))) ? (1u << 17) : 0u) |
            ((m->pll_locks && (m->cr & (1u << 24))) ? (1u << 25) : 0u);
    const int odrdy = m->od_works && (m->pwr_cr1 & (1u << 16));
    const int odswrdy = odrdy && m->odsw_works && (m->pwr_cr1 & (1u << 17));
    m->pwr_csr1 = (odrdy ? (1u << 16) : 0u) | (odswrdy ? (1u << 17) : 0u);
}

static uint32_t model_read(void *ctx, uint32_t addr)
{
    model_t *m = (model_t *)ctx;
    update_flags(m);
    switch (addr) {
    case NUCLEO_RCC_CR: return m->cr;
    case NUCLEO_RCC_PLLCFGR: return m->pllcfgr;
    case NUCLEO_RCC_CFGR: return m->cfgr;
    case NUCLEO_RCC_APB1ENR: return m->apb1enr;
    case NUCLEO_PWR_CR1: return m->pwr_cr1;
    case NUCLEO_PWR_CSR1: return m->pwr_csr1;
    case NUCLEO_FLASH_ACR: return (m->acr & ~0xFu) | m->latency;
    default: m->unknown_access++; return 0u;
    }
}

static void model_write(void *ctx, uint32_t addr, uint32_t value)
{
    model_t *m = (model_t *)ctx;
    switch (addr) {
    case NUCLEO_RCC_CR: m->cr = value; break;
    case NUCLEO_RCC_PLLCFGR: m->pllcfgr = value; break;
    case NUCLEO_RCC_CFGR: {
        const uint32_t sw = value & 3u;
        uint32_t sws = (m->cfgr >> 2) & 3u;
        update_flags(m);
        if (sw == 0u) {
            sws = 0u;
        } else if (sw == 2u && m->switch_works && (m->cr & (1u << 25))) {
            sws = 2u; /* the PLL is selected only once it is locked */
        }
        m->cfgr = (value & ~(3u << 2)) | (sws << 2);
        break;
    }
    case NUCLEO_RCC_APB1ENR: m->apb1enr = value; break;
    case NUCLEO_PWR_CR1: m->pwr_cr1 = value; break;
    case NUCLEO_FLASH_ACR:
        m->acr = value;
        if (m->flash_works) {
            m->latency = value & 0xFu;
        }
        break;
    default: m->unknown_access++; break;
    }
    update_flags(m);
    check_spec(m);
}

/* One set-up against a board where the flagged steps work. out[]: sysclk_hz, pclk1_hz, faults, from_hse,
 * spec violations, final SWS, final flash wait states, PLLON, ODEN | ODSWEN, PLLCFGR, unknown accesses. */
void run_clock_setup(int hse, int od, int odsw, int pll, int flash, int sw, uint32_t out[11])
{
    model_t m;
    memset(&m, 0, sizeof m);
    m.cr = 1u | (1u << 1); /* reset: HSI on and ready, the core on HSI */
    m.hse_works = hse;
    m.od_works = od;
    m.odsw_works = odsw;
    m.pll_locks = pll;
    m.flash_works = flash;
    m.switch_works = sw;
    const nucleo_reg_io_t io = {model_read, model_write, &m};
    const nucleo_clock_t c = nucleo_clock_setup(&io, 1000u);
    update_flags(&m);
    out[0] = c.sysclk_hz;
    out[1] = c.pclk1_hz;
    out[2] = c.faults;
    out[3] = (uint32_t)c.from_hse;
    out[4] = (uint32_t)m.violations;
    out[5] = (m.cfgr >> 2) & 3u;
    out[6] = m.latency;
    out[7] = (m.cr >> 24) & 1u;
    out[8] = (m.pwr_cr1 >> 16) & 3u;
    out[9] = m.pllcfgr;
    out[10] = (uint32_t)m.unknown_access;
}
