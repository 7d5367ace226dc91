/*
 * board_nucleo.h - registers and private helpers of the Nucleo-F767ZI board
 * files (STM32F767ZI, RM0410). Only the few registers edgekws touches; no
 * vendor HAL or CMSIS device header is needed.
 */
#ifndef EDGEKWS_BOARD_NUCLEO_H
#define EDGEKWS_BOARD_NUCLEO_H

#include <stdint.h>

#define REG32(addr) (*(volatile uint32_t *)(addr))

/* RCC */
#define RCC_BASE 0x40023800u
#define RCC_CR REG32(RCC_BASE + 0x00u)
#define RCC_PLLCFGR REG32(RCC_BASE + 0x04u)
#define RCC_CFGR REG32(RCC_BASE + 0x08u)
#define RCC_AHB1ENR REG32(RCC_BASE + 0x30u)
#define RCC_APB1ENR REG32(RCC_BASE + 0x40u)
#define RCC_CSR REG32(RCC_BASE + 0x74u)
#define RCC_DCKCFGR2 REG32(RCC_BASE + 0x90u)

/* PWR */
#define PWR_BASE 0x40007000u
#define PWR_CR1 REG32(PWR_BASE + 0x00u)
#define PWR_CSR1 REG32(PWR_BASE + 0x04u)

/* Flash interface */
#define FLASH_ACR REG32(0x40023C00u)

/* GPIO */
#define GPIOB_BASE 0x40020400u
#define GPIOD_BASE 0x40020C00u
#define GPIOF_BASE 0x40021400u
#define GPIO_MODER(b) REG32((b) + 0x00u)
#define GPIO_OSPEEDR(b) REG32((b) + 0x08u)
#define GPIO_PUPDR(b) REG32((b) + 0x0Cu)
#define GPIO_BSRR(b) REG32((b) + 0x18u)
#define GPIO_AFRH(b) REG32((b) + 0x24u)

/* USART3 (ST-LINK virtual COM port on PD8 TX / PD9 RX) */
#define USART3_BASE 0x40004800u
#define USART_CR1 REG32(USART3_BASE + 0x00u)
#define USART_BRR REG32(USART3_BASE + 0x0Cu)
#define USART_ISR REG32(USART3_BASE + 0x1Cu)
#define USART_ICR REG32(USART3_BASE + 0x20u)
#define USART_RDR REG32(USART3_BASE + 0x24u)
#define USART_TDR REG32(USART3_BASE + 0x28u)
#define USART_ISR_ORE (1u << 3)
#define USART_ISR_RXNE (1u << 5)
#define USART_ISR_TC (1u << 6)
#define USART_ISR_TXE (1u << 7)

/* IWDG */
#define IWDG_KR REG32(0x40003000u)
#define IWDG_PR REG32(0x40003004u)
#define IWDG_RLR REG32(0x40003008u)
#define IWDG_SR REG32(0x4000300Cu)

/* Core: SCB, SysTick, DWT */
#define SCB_CPACR REG32(0xE000ED88u)
#define SCB_VTOR REG32(0xE000ED08u)
#define SCB_AIRCR REG32(0xE000ED0Cu)
#define SCB_CCR REG32(0xE000ED14u)
#define SCB_SHCSR REG32(0xE000ED24u)
#define SCB_CFSR REG32(0xE000ED28u)
#define SCB_HFSR REG32(0xE000ED2Cu)
#define SCB_MMFAR REG32(0xE000ED34u)
#define SCB_BFAR REG32(0xE000ED38u)
#define SCB_CCSIDR REG32(0xE000ED80u)
#define SCB_CSSELR REG32(0xE000ED84u)
#define SCB_ICIALLU REG32(0xE000EF50u)
#define SCB_DCISW REG32(0xE000EF60u)
#define SYST_CSR REG32(0xE000E010u)
#define SYST_RVR REG32(0xE000E014u)
#define SYST_CVR REG32(0xE000E018u)
#define DEMCR REG32(0xE000EDFCu)
#define DWT_CTRL REG32(0xE0001000u)
#define DWT_CYCCNT REG32(0xE0001004u)
#define DWT_LAR REG32(0xE0001FB0u)

/* Exit status printed before the reset that follows a fault. */
#ifndef EDGEKWS_EXIT_FAULT
#define EDGEKWS_EXIT_FAULT 70
#endif

/* Fault-safe output: polls USART3, needs no interrupt. */
void nucleo_puts(const char *s);
void nucleo_put_kv_hex(const char *key, uint32_t value);
void nucleo_uart_flush(void);
void nucleo_led_fault(void);
void nucleo_delay_cycles(uint32_t cycles);

#endif /* EDGEKWS_BOARD_NUCLEO_H */
