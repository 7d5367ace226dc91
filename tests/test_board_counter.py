"""The emulated board's instruction counter is exact to one instruction.

Why: every latency figure of the project (self-test, bench, autotune, pruning study) is a difference of
two board_counter() readings in QEMU. At ``-icount shift=0`` the counter derived from a 25 MHz timer, so it
moved in steps of 40 instructions and two kernels 20 instructions apart could not be told apart. The test
builds the real mps2_an500 board code (firmware flags, linker script, the build's EDGEKWS_ICOUNT_SHIFT)
with a main that times code paths of exactly k NOP instructions from many start phases, runs it in QEMU
the way the project does (edgekws.device.emulator), and requires every difference to be exactly k.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from edgekws.device import build as fwbuild
from edgekws.device.emulator import Emulator

pytestmark = [pytest.mark.emulator]

KS = (*range(0, 41), 97, 1000)
PHASES = 64


def _main_c(long_iterations: int) -> str:
    """k-NOP paths timed after a phase-shifting spin; then one long loop of 2 instructions per iteration."""
    out = ['#include <stddef.h>', '#include <stdint.h>', '#include "edgekws/board.h"',
           'static void put(const char *s) { size_t n = 0; while (s[n]) { n++; } '
           'board_uart_write((const uint8_t *)s, n); }',
           'static void putu(uint32_t v) { char b[12]; int i = 11; b[i] = 0; '
           'do { b[--i] = (char)(48u + v % 10u); v /= 10u; } while (v); put(b + i); }',
           # exactly 2 instructions per iteration (n >= 1), whatever the compiler
           'static void __attribute__((noinline)) spin(uint32_t n) { if (n) { '
           '__asm__ volatile("1: subs %0, %0, #1\\n\\tbne 1b" : "+r"(n) :: "cc"); } }']
    for k in KS:
        out.append(f'static uint32_t __attribute__((noinline)) path{k}(void) {{ const uint32_t a = board_counter(); '
                   f'__asm__ volatile(".rept {k}\\n\\tnop\\n\\t.endr" ::: "memory"); '
                   f'return board_counter() - a; }}')
    out.append('int main(void) { board_init(); uint32_t bad = 0;')
    out.append(f' for (uint32_t p = 0; p < {PHASES}u; p++) {{ spin(p * 37u % 101u); const uint32_t base = path0();')
    for k in KS[1:]:
        out.append(f'  {{ const uint32_t d = path{k}(); if (d - base != {k}u) {{ if (bad < 5u) {{ put("bad k={k} got=");'
                   f' putu(d - base); put("\\n"); }} bad++; }} }}')
    out.append(' }')
    out.append(f' {{ const uint32_t a = board_counter(); spin({long_iterations}u); const uint32_t b = board_counter();'
               ' const uint32_t c = board_counter(); spin(1u); const uint32_t d = board_counter();'
               ' put("long "); putu((b - a) - (d - c)); put("\\n"); }')
    out.append(' put("bad "); putu(bad); put("\\n"); board_exit(0); }')
    return "\n".join(out) + "\n"


def _build(tmp: Path, shift: int, long_iterations: int) -> Path:
    cfg = fwbuild.build_config()
    board = cfg.BOARDS["mps2_an500"]
    fw = fwbuild.firmware_dir()
    main = tmp / "main.c"
    main.write_text(_main_c(long_iterations))
    elf = tmp / "counter.elf"
    defines = [f"-D{d}" for d in board.defines if not d.startswith("EDGEKWS_ICOUNT_SHIFT=")]
    cmd = ["arm-none-eabi-gcc", *board.cpu_flags, *cfg.C_FLAGS, *defines, f"-DEDGEKWS_ICOUNT_SHIFT={shift}",
           f"-I{fw / 'include'}", *(str(fw / "src" / s) for s in board.sources), str(main),
           *board.link_flags, f"-T{fw / 'src' / board.linker_script}", *board.link_libs, "-o", str(elf)]
    subprocess.run(cmd, check=True, capture_output=True)
    return elf


def _run(elf: Path, shift: int) -> tuple[int, int]:
    with Emulator(elf, serial="stdio", icount_shift=shift) as emu:
        assert emu.wait(120) == 0, emu.output
    bad = re.search(r"^bad (\d+)$", emu.output, re.M)
    long = re.search(r"^long (\d+)$", emu.output, re.M)
    assert bad and long, emu.output
    assert int(bad.group(1)) == 0, f"paths of k NOPs not counted as k instructions:\n{emu.output}"
    return int(bad.group(1)), int(long.group(1))


def test_counter_resolves_single_instructions(arm_gcc: str, qemu_arm: str, tmp_path: Path) -> None:
    del arm_gcc, qemu_arm
    shift = fwbuild.icount_shift("mps2_an500")
    _, long = _run(_build(tmp_path, shift, 250_000), shift)
    assert long == 2 * (250_000 - 1)  # the spin loop: 2 instructions per iteration (a 1-iteration spin subtracted)


@pytest.mark.slow
def test_counter_stays_exact_across_the_32_bit_timer_wrap(arm_gcc: str, qemu_arm: str, tmp_path: Path) -> None:
    """At shift 10 the 32-bit tick counter wraps every 167.8 M instructions; a 200 M instruction interval
    read only at its ends must still come out exact (the coarse counter supplies the wraps)."""
    del arm_gcc, qemu_arm
    _, long = _run(_build(tmp_path, 10, 100_000_000), 10)
    assert long == 2 * (100_000_000 - 1)
