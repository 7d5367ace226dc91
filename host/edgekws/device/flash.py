"""Flash a firmware ELF onto a board without PlatformIO: pyOCD or st-flash.

Why two tools: pyOCD (``pip install pyocd``) speaks CMSIS-DAP and ST-LINK and
reads the ELF directly; stlink-tools' ``st-flash`` is a Debian package many
users already have and takes a raw binary at the flash base address. Whichever
is installed is used (pyOCD first); with neither, one line says what to install.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from elftools.elf.elffile import ELFFile

from edgekws.device.build import board_regions, check_board
from edgekws.errors import FirmwareError

TOOLS = ("pyocd", "st-flash")
# pyOCD target name per flashable board.
PYOCD_TARGETS = {"nucleo_f767zi": "stm32f767zi"}


@dataclass(frozen=True)
class FlashPlan:
    """The command that will flash (or, with dry_run, would flash) the image."""

    tool: str
    command: list[str]


def available_tools() -> list[str]:
    return [t for t in TOOLS if shutil.which(t)]


def _flash_base(board: str) -> int:
    return next(r["origin"] for r in board_regions(board) if r["kind"] == "flash")


def _check_elf_for_board(elf: Path, board: str) -> None:
    """Refuse an image linked for another board (e.g. the QEMU one) before touching the probe."""
    base = _flash_base(board)
    with elf.open("rb") as fh:
        try:
            entry = ELFFile(fh)["e_entry"]
        except Exception as exc:  # noqa: BLE001 - any parse failure means "not an ELF"
            raise FirmwareError(f"{elf}: not an ELF file") from exc
    size = next(r["length"] for r in board_regions(board) if r["kind"] == "flash")
    if not base <= entry < base + size:
        raise FirmwareError(f"{elf} was not linked for {board} (entry {entry:#x} outside flash at {base:#x})")


def _to_binary(elf: Path) -> Path:
    objcopy = shutil.which("arm-none-eabi-objcopy")
    if objcopy is None:
        raise FirmwareError("arm-none-eabi-objcopy is not installed (apt-get install binutils-arm-none-eabi)")
    out = elf.with_suffix(".bin")
    subprocess.run([objcopy, "-O", "binary", str(elf), str(out)], check=True)
    return out


def plan_flash(elf: str | Path, board: str = "nucleo_f767zi", *, tool: str | None = None,
               probe: str | None = None) -> FlashPlan:
    """Pick the tool and build its command line (no side effects except the .bin for st-flash)."""
    b = check_board(board)
    if b.emulated:
        raise FirmwareError(f"{board} is the emulator: run it with `edgekws firmware selftest`, not flash it")
    if not b.cross or board not in PYOCD_TARGETS:
        raise FirmwareError(f"{board} is not a board that can be flashed; flashable: {', '.join(PYOCD_TARGETS)}")
    path = Path(elf)
    if not path.is_file():
        raise FirmwareError(f"{path}: no such firmware ELF")
    _check_elf_for_board(path, board)
    if tool is not None and tool not in TOOLS:
        raise FirmwareError(f"unknown flash tool '{tool}'; tools: {', '.join(TOOLS)}")
    found = available_tools()
    chosen = tool if tool is not None else (found[0] if found else None)
    if chosen is None or shutil.which(chosen) is None:
        raise FirmwareError("no flash tool found: install pyOCD (pip install pyocd) or stlink-tools (st-flash), "
                            "or use `pio run -e nucleo_f767zi -t upload`")
    if chosen == "pyocd":
        cmd = ["pyocd", "flash", "--target", PYOCD_TARGETS[board]]
        if probe:
            cmd += ["--uid", probe]
        return FlashPlan("pyocd", [*cmd, str(path)])
    cmd = ["st-flash", "--reset"]
    if probe:
        cmd += ["--serial", probe]
    return FlashPlan("st-flash", [*cmd, "write", str(_to_binary(path)), hex(_flash_base(board))])


def flash(elf: str | Path, board: str = "nucleo_f767zi", *, tool: str | None = None, probe: str | None = None,
          dry_run: bool = False) -> FlashPlan:
    """Flash ``elf`` onto ``board``; FirmwareError with the tool's last line when it fails."""
    plan = plan_flash(elf, board, tool=tool, probe=probe)
    if dry_run:
        return plan
    proc = subprocess.run(plan.command, capture_output=True, text=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip() or proc.stdout.strip() or "no output").splitlines()[-1]
        raise FirmwareError(f"{plan.tool} failed (exit {proc.returncode}): {last[:200]}")
    return plan
