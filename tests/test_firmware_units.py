"""Fast firmware checks: report parsing, memory fit, link-error wording, board errors, flash tool choice.

The ELF used here is real: the mps2_an500 board code plus a two-line main,
compiled by arm-none-eabi-gcc with the firmware's own flags and linker script
(under a second), so the memory accounting is checked on a true image.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from edgekws.cli import build_app
from edgekws.device import build as fwbuild
from edgekws.device.emulator import EXIT_FAULT, Emulator, parse_selftest
from edgekws.device.flash import plan_flash
from edgekws.device.memory import elf_memory
from edgekws.errors import FirmwareError

REPORT = """\
edgekws selftest fw=0.1.0 board=mps2_an500 model=kws
selftest begin model=kws bundle=abc board=mps2_an500 unit=instructions clock_hz=25000000 vectors=2 layers=2
layer 0 CONV_2D ref instructions=1000 name=conv2d_0
layer 1 SOFTMAX ref instructions=40 name=softmax_0
selftest vector 0 pass instructions=1080
selftest vector 1 fail instructions=1120 mismatched=2 first=5 got=-12 want=-10
memory arena_bytes=800 stack_high_water=452 stack_size=16384 weights_bytes=63
selftest result fail vectors=2 mismatches=1 instructions=1120
"""


def test_parse_selftest_report() -> None:
    r = parse_selftest(REPORT)
    assert r["unit"] == "instructions" and r["model"] == "kws" and r["n_layers"] == 2
    assert [(v["index"], v["status"], v["count"]) for v in r["vectors"]] == [(0, "pass", 1080), (1, "fail", 1120)]
    assert r["vectors"][1]["got"] == -12 and r["vectors"][1]["want"] == -10 and r["vectors"][1]["first"] == 5
    assert [(x["op"], x["count"], x["name"]) for x in r["layers"]] == [("CONV_2D", 1000, "conv2d_0"),
                                                                      ("SOFTMAX", 40, "softmax_0")]
    assert r["memory"]["stack_high_water"] == 452
    assert r["result"] == "fail" and r["count"] == 1120


def test_parse_selftest_keeps_cycles_apart_from_instructions() -> None:
    text = REPORT.replace("instructions", "cycles")
    r = parse_selftest(text)
    assert r["unit"] == "cycles" and r["layers"][0]["count"] == 1000
    assert "instructions" not in r["vectors"][0]


def test_parse_selftest_fault_line() -> None:
    r = parse_selftest("selftest begin unit=instructions\nfault HardFault exc=0x00000003 pc=0x00000120\n")
    assert r["fault"].startswith("fault HardFault") and r["result"] is None


@pytest.mark.parametrize("log, want", [
    ("ld: error: edgekws: model arena does not fit SRAM (384 KB) of nucleo_f767zi\n",
     "model arena does not fit SRAM"),
    ("arm-none-eabi/bin/ld: region `DTCM' overflowed by 4242 bytes\ncollect2: error",
     "region DTCM overflowed by 4242 bytes"),
    ("ld: x.elf section `.bss' will not fit in region `RAM'\nld: edgekws: data + model arena + stack do not fit "
     "the RAM of mps2_an500 (4 MB)\nld: region `RAM' overflowed by 1064968 bytes\n",
     "data + model arena + stack do not fit the RAM of mps2_an500 (4 MB) (region RAM overflowed by 1064968 bytes)"),
])
def test_link_overflow_becomes_one_line(log: str, want: str) -> None:
    msg = fwbuild.explain_link_failure(log, "nucleo_f767zi")
    assert msg is not None and want in msg and "\n" not in msg
    assert msg.startswith("firmware does not fit nucleo_f767zi")


def test_link_failure_without_overflow_is_not_explained() -> None:
    assert fwbuild.explain_link_failure("undefined reference to `foo'", "mps2_an500") is None


def test_unknown_board_lists_boards() -> None:
    with pytest.raises(FirmwareError, match=r"unknown board 'stm32'; boards: mps2_an500, nucleo_f767zi"):
        fwbuild.check_board("stm32")


def test_cli_unknown_board_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from edgekws.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["firmware", "build", "--board", "nope", "--bundle", "x"])
    assert exc.value.code != 0
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: unknown board 'nope'; boards: ") and "\n" not in err


def test_cli_registers_firmware_and_flash() -> None:
    app = build_app()
    names = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    assert {"firmware", "flash"} <= names


# ------------------------------------------------------------------ a real, tiny ARM image

MAIN_C = """
#include "edgekws/board.h"
static const unsigned char blob[BLOB] = {1};
int main(void) { board_init(); board_uart_write(blob, 2); board_uart_write((const unsigned char *)"ok\\r\\n", 4);
                 return *(volatile const unsigned char *)&blob[0] + EXTRA; }
"""


def _tiny_elf(tmp: Path, blob: int = 1024, extra: int = 4, fault: bool = False,
              board_name: str = "mps2_an500") -> Path:
    cfg = fwbuild.build_config()
    board = cfg.BOARDS[board_name]
    fw = fwbuild.firmware_dir()
    main = tmp / "main.c"
    body = MAIN_C
    if fault:  # read from an unmapped address: a BusFault the handler must report
        body = body.replace("board_init();", "board_init(); (void)*(volatile unsigned *)0x30000000u;")
    main.write_text(body)
    elf = tmp / "tiny.elf"
    cmd = ["arm-none-eabi-gcc", *board.cpu_flags, *cfg.C_FLAGS, f"-DBLOB={blob}", f"-DEXTRA={extra}",
           f"-I{fw / 'include'}", *(str(fw / "src" / s) for s in board.sources), str(main),
           *board.link_flags, f"-T{fw / 'src' / board.linker_script}", *board.link_libs, "-o", str(elf)]
    subprocess.run(cmd, check=True, capture_output=True)
    return elf


def test_elf_memory_counts_sections(arm_gcc: str, tmp_path: Path) -> None:
    del arm_gcc
    elf = _tiny_elf(tmp_path, blob=10000)
    mem = elf_memory(elf, "mps2_an500")
    flash = next(r for r in mem["regions"] if r["name"] == "FLASH")
    ram = next(r for r in mem["regions"] if r["name"] == "RAM")
    assert 10000 < flash["used"] < 20000  # the blob + board code
    assert ram["used"] >= 16 * 1024  # the stack is RAM too
    assert mem["stack_bytes"] == 16 * 1024 and mem["flash_bytes"] == flash["used"]


def test_elf_memory_overflow_is_one_clear_line(arm_gcc: str, tmp_path: Path) -> None:
    del arm_gcc
    elf = _tiny_elf(tmp_path, blob=10000)
    small = [{"name": "FLASH", "origin": 0, "length": 8192, "kind": "flash"},
             {"name": "RAM", "origin": 0x20000000, "length": 4 * 1024 * 1024, "kind": "ram"}]
    with pytest.raises(FirmwareError) as exc:
        elf_memory(elf, "mps2_an500", regions=small)
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith("firmware does not fit mps2_an500: FLASH needs")
    assert "has 8192" in msg


def test_elf_memory_rejects_image_of_another_board(arm_gcc: str, tmp_path: Path) -> None:
    del arm_gcc
    elf = _tiny_elf(tmp_path)
    with pytest.raises(FirmwareError, match="outside every memory region of nucleo_f767zi"):
        elf_memory(elf, "nucleo_f767zi")


def test_linker_script_rejects_oversized_image(arm_gcc: str, tmp_path: Path) -> None:
    del arm_gcc
    with pytest.raises(subprocess.CalledProcessError) as exc:
        _tiny_elf(tmp_path, blob=5 * 1024 * 1024)
    log = exc.value.stderr.decode()
    msg = fwbuild.explain_link_failure(log, "mps2_an500")
    assert msg is not None and "do not fit the flash of mps2_an500" in msg and "region FLASH overflowed by" in msg


def test_qemu_exit_status_and_uart(arm_gcc: str, qemu_arm: str, tmp_path: Path) -> None:
    """main's return value reaches the host as QEMU's exit code (semihosting), UART as stdout."""
    del arm_gcc, qemu_arm
    elf = _tiny_elf(tmp_path, extra=4)
    with Emulator(elf, serial="stdio") as emu:
        code = emu.wait(30)
    assert code == 5  # blob[0] + EXTRA
    assert "ok" in emu.output


def test_fault_is_printed_and_exits(arm_gcc: str, qemu_arm: str, tmp_path: Path) -> None:
    del arm_gcc, qemu_arm
    elf = _tiny_elf(tmp_path, fault=True)
    with Emulator(elf, serial="stdio") as emu:
        code = emu.wait(30)
    assert code == EXIT_FAULT
    report = parse_selftest(emu.output)
    assert report["fault"] is not None and "BusFault" in report["fault"] and "bfar=0x30000000" in report["fault"]


def test_flash_refuses_emulator_and_foreign_images(arm_gcc: str, tmp_path: Path) -> None:
    del arm_gcc
    elf = _tiny_elf(tmp_path)
    with pytest.raises(FirmwareError, match="is the emulator"):
        plan_flash(elf, "mps2_an500")
    with pytest.raises(FirmwareError, match="was not linked for nucleo_f767zi"):
        plan_flash(elf, "nucleo_f767zi")


def test_flash_runs_st_flash_with_the_binary_at_flash_base(arm_gcc: str, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """No probe here: a stand-in st-flash on PATH records the command the real one would get."""
    del arm_gcc
    from edgekws.device.flash import flash

    elf = _tiny_elf(tmp_path, board_name="nucleo_f767zi")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "argv.txt"
    tool = bindir / "st-flash"
    tool.write_text(f"#!/bin/sh\necho \"$@\" > {log}\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    plan = flash(elf, "nucleo_f767zi", tool="st-flash")
    argv = log.read_text().split()
    assert plan.tool == "st-flash" and argv[:2] == ["--reset", "write"] and argv[3] == "0x8000000"
    image = Path(argv[2])
    assert image.suffix == ".bin" and 1000 < image.stat().st_size < 64 * 1024


def test_flash_without_tools_says_what_to_install(arm_gcc: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    del arm_gcc
    elf = _tiny_elf(tmp_path, board_name="nucleo_f767zi")
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # neither pyocd nor st-flash
    with pytest.raises(FirmwareError, match="no flash tool found: install pyOCD"):
        plan_flash(elf, "nucleo_f767zi")


@pytest.mark.parametrize("board, arena, section", [
    ("nucleo_f767zi", 112 * 1024, ".dtcm_bss"),  # 128 KB DTCM = 16 KB stack + arena
    ("nucleo_f767zi", 112 * 1024 + 1, ".sram_bss"),
    ("mps2_an500", 3 * 1024 * 1024, ".dtcm_bss"),  # one RAM region: the name only selects it
])
def test_arena_goes_to_dtcm_when_it_fits(board: str, arena: int, section: str) -> None:
    cfg = fwbuild.build_config()
    assert cfg.arena_section(cfg.BOARDS[board], arena) == section


def test_configure_error_is_one_line(arm_gcc: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A CMake FATAL_ERROR (here: a cmsisnn model without CMSIS-NN) reaches the user as one sentence."""
    del arm_gcc
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed")
    monkeypatch.delenv("EDGEKWS_CMSISNN_DIR", raising=False)
    monkeypatch.setenv("EDGEKWS_CMSISNN_CACHE", str(tmp_path / "no_cmsisnn_cache"))  # not the fetched one
    model = tmp_path / "model_c"
    model.mkdir()
    (model / "edgekws_model.h").write_text('#define EDGEKWS_ARENA_SIZE 64u\n#define EDGEKWS_BACKENDS "cmsisnn,ref"\n')
    with pytest.raises(FirmwareError) as exc:
        fwbuild.build_firmware("mps2_an500", model, tmp_path / "fw")
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith("firmware configure failed for mps2_an500: the model in ")
    assert "CMSIS-NN not available: set EDGEKWS_CMSISNN_DIR" in msg
