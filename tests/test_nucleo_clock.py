"""The Nucleo-F767ZI clock set-up never runs the core out of spec and says what clock it really runs.

firmware/src/board/nucleo_f767zi/clock.c reaches RCC/PWR/FLASH only through a small read/write seam;
here it runs on the host against tests/c/nucleo_clock_model.c, a model of those registers in which any
ready flag can stay low (over-drive, over-drive switch, PLL lock, flash latency, clock switch). The model
counts every moment the core would run at 216 MHz without voltage scale 1, over-drive and 7 wait states.
The board code itself is compiled for the Cortex-M7 with the firmware's flags as well.
"""

from __future__ import annotations

import ctypes
import shutil
from pathlib import Path

import pytest

import cbuild

REPO = Path(__file__).resolve().parents[1]
BOARD_DIR = REPO / "firmware" / "src" / "board" / "nucleo_f767zi"
MHZ216, MHZ16 = 216_000_000, 16_000_000
FAULTS = {"od": 1 << 0, "odsw": 1 << 1, "pll": 1 << 2, "flash": 1 << 3, "sw": 1 << 4}


@pytest.fixture(scope="module")
def lib(tmp_path_factory: pytest.TempPathFactory, host_cc: str) -> ctypes.CDLL:
    del host_cc
    out = tmp_path_factory.mktemp("nucleo_clock") / "libclock.so"
    return ctypes.CDLL(str(cbuild.compile_shared([BOARD_DIR / "clock.c", REPO / "tests" / "c" / "nucleo_clock_model.c"],
                                                 out, include_dirs=[BOARD_DIR])))


def run(lib: ctypes.CDLL, **broken: bool) -> dict[str, int]:
    works = {k: 0 if broken.get(k) else 1 for k in ("hse", "od", "odsw", "pll", "flash", "sw")}
    out = (ctypes.c_uint32 * 11)()
    lib.run_clock_setup(*works.values(), out)
    keys = ("sysclk", "pclk1", "faults", "from_hse", "violations", "sws", "latency", "pllon", "od_bits",
            "pllcfgr", "unknown")
    return dict(zip(keys, list(out), strict=True))


def test_all_steps_work_gives_216mhz_in_spec(lib: ctypes.CDLL) -> None:
    r = run(lib)
    assert (r["sysclk"], r["pclk1"], r["faults"], r["from_hse"]) == (MHZ216, MHZ216 // 4, 0, 1)
    assert r["sws"] == 2 and r["latency"] == 7 and r["violations"] == 0 and r["unknown"] == 0
    assert r["pllcfgr"] & 0x3F == 4 and (r["pllcfgr"] >> 22) & 1 == 1  # M=4 from the 8 MHz HSE


def test_missing_hse_runs_the_pll_from_hsi(lib: ctypes.CDLL) -> None:
    r = run(lib, hse=True)
    assert (r["sysclk"], r["faults"], r["from_hse"], r["violations"]) == (MHZ216, 0, 0, 0)
    assert r["pllcfgr"] & 0x3F == 8 and (r["pllcfgr"] >> 22) & 1 == 0  # M=8 from the 16 MHz HSI


@pytest.mark.parametrize("step", sorted(FAULTS))
def test_a_timeout_falls_back_to_hsi_16mhz(lib: ctypes.CDLL, step: str) -> None:
    """Any step that times out: never 216 MHz out of spec, the real clock reported, the fault named."""
    r = run(lib, **{step: True})
    assert r["violations"] == 0, f"{step} timed out but the core ran 216 MHz out of spec"
    assert r["faults"] == FAULTS[step]
    assert (r["sysclk"], r["pclk1"], r["sws"]) == (MHZ16, MHZ16, 0)
    assert r["latency"] == 0 and r["pllon"] == 0 and r["od_bits"] == 0  # HSI settings, PLL and over-drive off


def test_board_code_compiles_for_the_nucleo(tmp_path: Path) -> None:
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc is not installed")
    objs = cbuild.compile_arm_objects([BOARD_DIR / "clock.c", BOARD_DIR / "board.c", BOARD_DIR / "startup.c"],
                                      tmp_path, include_dirs=[BOARD_DIR])
    assert all(o.stat().st_size > 0 for o in objs)
