/*
 * startup.c - reset, vector table and fault handler of the emulated
 * Cortex-M7 (QEMU machine mps2-an500, ARM AN500 FPGA image).
 *
 * No vendor startup file: the reset handler turns the FPU on first (the whole
 * firmware is built with -mfloat-abi=hard), copies .data, zeroes .bss, paints
 * the stack for the high-water mark and calls main(). Every fault lands in one
 * handler that prints the fault registers over the UART and ends QEMU with
 * EDGEKWS_EXIT_FAULT, so a crash in CI is a readable line and a red test, not
 * a hang.
 */
#include <stdint.h>

#include "board_mps2.h"
#include "edgekws/board.h"

/* Symbols from mps2_an500.ld. */
extern uint32_t __data_load[], __data_start[], __data_end[];
extern uint32_t __bss_start[], __bss_end[];
extern uint32_t __stack_limit[], __stack_top[];

int main(void);
void Reset_Handler(void);
void Default_Handler(void);
void Fault_Handler(void);
void SysTick_Handler(void);
void mps2_fault_report(const uint32_t *frame, uint32_t exc_return);

#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)
#define SCB_SHCSR (*(volatile uint32_t *)0xE000ED24u)
#define SCB_CFSR (*(volatile uint32_t *)0xE000ED28u)
#define SCB_HFSR (*(volatile uint32_t *)0xE000ED2Cu)
#define SCB_MMFAR (*(volatile uint32_t *)0xE000ED34u)
#define SCB_BFAR (*(volatile uint32_t *)0xE000ED38u)

/* Word written over the unused stack at reset; board_stack_used() looks for
 * the deepest word that no longer holds it. */
#define STACK_PAINT 0xC5C5C5C5u

typedef void (*vector_t)(void);

/* The core's 16 system vectors; the model needs no peripheral interrupt. */
__attribute__((section(".isr_vector"), used)) const vector_t mps2_vectors[16] = {
    (vector_t)(uintptr_t)__stack_top, /* initial main stack pointer */
    Reset_Handler,
    Default_Handler, /* NMI */
    Fault_Handler,   /* HardFault */
    Fault_Handler,   /* MemManage */
    Fault_Handler,   /* BusFault */
    Fault_Handler,   /* UsageFault */
    0,
    0,
    0,
    0,
    Default_Handler, /* SVCall */
    Default_Handler, /* DebugMonitor */
    0,
    Default_Handler, /* PendSV */
    SysTick_Handler,
};

__attribute__((noreturn)) void Reset_Handler(void)
{
    /* CP10/CP11 full access before any floating-point instruction can run. */
    SCB_CPACR |= (0xFu << 20);
    __asm__ volatile("dsb\n\tisb" ::: "memory");

    for (uint32_t *src = __data_load, *dst = __data_start; dst < __data_end;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = __bss_start; dst < __bss_end;) {
        *dst++ = 0;
    }

    /* Paint from the stack limit up to just below this frame. */
    uint32_t *sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (uint32_t *p = __stack_limit; p < sp - 16;) {
        *p++ = STACK_PAINT;
    }

    /* Usage/bus/memory faults get their own report instead of escalating. */
    SCB_SHCSR |= (1u << 16) | (1u << 17) | (1u << 18);

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
    mps2_fault_report(0, 0);
}

/* Pass the stacked exception frame (MSP or PSP, from EXC_RETURN bit 2). */
__attribute__((naked)) void Fault_Handler(void)
{
    __asm__ volatile(
        "tst lr, #4\n\t"
        "ite eq\n\t"
        "mrseq r0, msp\n\t"
        "mrsne r0, psp\n\t"
        "mov r1, lr\n\t"
        "b mps2_fault_report\n\t");
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

__attribute__((noreturn, used)) void mps2_fault_report(const uint32_t *frame, uint32_t exc_return)
{
    uint32_t ipsr;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    mps2_puts("\r\nfault ");
    mps2_puts(exception_name(ipsr & 0x1FFu));
    mps2_put_kv_hex(" exc=", ipsr & 0x1FFu);
    if (frame != 0) {
        mps2_put_kv_hex(" pc=", frame[6]);
        mps2_put_kv_hex(" lr=", frame[5]);
        mps2_put_kv_hex(" psr=", frame[7]);
        mps2_put_kv_hex(" exc_return=", exc_return);
    }
    mps2_put_kv_hex(" cfsr=", SCB_CFSR);
    mps2_put_kv_hex(" hfsr=", SCB_HFSR);
    mps2_put_kv_hex(" mmfar=", SCB_MMFAR);
    mps2_put_kv_hex(" bfar=", SCB_BFAR);
    mps2_puts("\r\n");
    board_exit(EDGEKWS_EXIT_FAULT);
}
