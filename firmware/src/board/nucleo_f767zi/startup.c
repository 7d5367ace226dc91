/*
 * startup.c - reset, vector table and fault handler of the Nucleo-F767ZI.
 *
 * No vendor startup file. The reset handler enables the FPU first (the image
 * is built with -mfloat-abi=hard), points VTOR at the flash copy of the table,
 * copies .data and zeroes every .bss (SRAM; the arena's in DTCM or SRAM),
 * paints the stack for the high-water mark and calls main(). Every fault prints its registers over
 * the ST-LINK virtual COM port, lights the red LED and resets the MCU.
 */
#include <stdint.h>

#include "board_nucleo.h"
#include "edgekws/board.h"

/* Symbols from nucleo_f767zi.ld. */
extern uint32_t __data_load[], __data_start[], __data_end[];
extern uint32_t __bss_start[], __bss_end[];
extern uint32_t __dtcm_bss_start[], __dtcm_bss_end[];
extern uint32_t __sram_bss_start[], __sram_bss_end[];
extern uint32_t __stack_limit[], __stack_top[];

int main(void);
void Reset_Handler(void);
void Default_Handler(void);
void Fault_Handler(void);
void SysTick_Handler(void);
void nucleo_fault_report(const uint32_t *frame, uint32_t exc_return);

#define STACK_PAINT 0xC5C5C5C5u
#define NUM_IRQS 110 /* STM32F76x/77x */

typedef void (*vector_t)(void);

__attribute__((section(".isr_vector"), used)) const vector_t nucleo_vectors[16 + NUM_IRQS] = {
    [0] = (vector_t)(uintptr_t)__stack_top,
    [1] = Reset_Handler,
    [2] = Default_Handler, /* NMI */
    [3] = Fault_Handler,   /* HardFault */
    [4] = Fault_Handler,   /* MemManage */
    [5] = Fault_Handler,   /* BusFault */
    [6] = Fault_Handler,   /* UsageFault */
    [11] = Default_Handler, /* SVCall */
    [12] = Default_Handler, /* DebugMonitor */
    [14] = Default_Handler, /* PendSV */
    [15] = SysTick_Handler,
    [16 ... 16 + NUM_IRQS - 1] = Default_Handler, /* no peripheral interrupt is used */
};

static void zero(uint32_t *dst, const uint32_t *end)
{
    while (dst < end) {
        *dst++ = 0;
    }
}

__attribute__((noreturn)) void Reset_Handler(void)
{
    SCB_CPACR |= (0xFu << 20); /* CP10/CP11 full access */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    SCB_VTOR = (uint32_t)(uintptr_t)nucleo_vectors;

    for (uint32_t *src = __data_load, *dst = __data_start; dst < __data_end;) {
        *dst++ = *src++;
    }
    zero(__bss_start, __bss_end);
    zero(__dtcm_bss_start, __dtcm_bss_end);
    zero(__sram_bss_start, __sram_bss_end);

    uint32_t *sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (uint32_t *p = __stack_limit; p < sp - 16;) {
        *p++ = STACK_PAINT;
    }

    SCB_SHCSR |= (1u << 16) | (1u << 17) | (1u << 18); /* MemManage, BusFault, UsageFault */

    board_exit(main());
}

size_t board_stack_size(void)
{
    return (size_t)((uintptr_t)__stack_top - (uintptr_t)__stack_limit);
}

size_t board_stack_used(void)
{
    const uint32_t *p = __stack_limit;
    while (p < __stack_top && *p == STACK_PAINT) {
        p++;
    }
    return (size_t)((uintptr_t)__stack_top - (uintptr_t)p);
}

void Default_Handler(void)
{
    nucleo_fault_report(0, 0);
}

__attribute__((naked)) void Fault_Handler(void)
{
    __asm__ volatile(
        "tst lr, #4\n\t"
        "ite eq\n\t"
        "mrseq r0, msp\n\t"
        "mrsne r0, psp\n\t"
        "mov r1, lr\n\t"
        "b nucleo_fault_report\n\t");
}

static const char *exception_name(uint32_t ipsr)
{
    switch (ipsr) {
    case 2: return "NMI";
    case 3: return "HardFault";
    case 4: return "MemManage";
    case 5: return "BusFault";
    case 6: return "UsageFault";
    default: return "UnexpectedIRQ";
    }
}

__attribute__((noreturn, used)) void nucleo_fault_report(const uint32_t *frame, uint32_t exc_return)
{
    uint32_t ipsr;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    nucleo_led_fault();
    nucleo_puts("\r\nfault ");
    nucleo_puts(exception_name(ipsr & 0x1FFu));
    nucleo_put_kv_hex(" exc=", ipsr & 0x1FFu);
    if (frame != 0) {
        nucleo_put_kv_hex(" pc=", frame[6]);
        nucleo_put_kv_hex(" lr=", frame[5]);
        nucleo_put_kv_hex(" psr=", frame[7]);
        nucleo_put_kv_hex(" exc_return=", exc_return);
    }
    nucleo_put_kv_hex(" cfsr=", SCB_CFSR);
    nucleo_put_kv_hex(" hfsr=", SCB_HFSR);
    nucleo_put_kv_hex(" mmfar=", SCB_MMFAR);
    nucleo_put_kv_hex(" bfar=", SCB_BFAR);
    nucleo_puts("\r\nexit status=70 (fault), resetting\r\n");
    nucleo_uart_flush();
    nucleo_delay_cycles(216000000u / 2u); /* half a second to read the LED */
    board_reset();
}
