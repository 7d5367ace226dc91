"""Build the firmware for a board and a model: ``build_firmware(board, bundle_or_model_dir, out_dir)``.

Why a thin layer over CMake: the list of sources, defines and flags lives in
firmware/build_config.py (which PlatformIO reads too); this module only turns
a bundle into its generated C when needed, runs CMake with Debian's
arm-none-eabi toolchain, turns linker overflow messages into one-line
:class:`FirmwareError`s and checks the result against the board's memory.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

from edgekws.errors import FirmwareError

REPO_ROOT = Path(__file__).resolve().parents[3]


def firmware_dir() -> Path:
    """The firmware source tree (``EDGEKWS_FIRMWARE_DIR`` or the repository's firmware/)."""
    path = Path(os.environ.get("EDGEKWS_FIRMWARE_DIR") or REPO_ROOT / "firmware")
    if not (path / "build_config.py").is_file():
        raise FirmwareError(f"{path} is not the edgekws firmware tree (no build_config.py); "
                            "set EDGEKWS_FIRMWARE_DIR")
    return path


@lru_cache(maxsize=4)
def _load_build_config(path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location("edgekws_firmware_build_config", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def build_config() -> ModuleType:
    """firmware/build_config.py as a module: the one table of boards, sources and flags."""
    return _load_build_config(str(firmware_dir() / "build_config.py"))


def board_names() -> list[str]:
    return list(build_config().BOARDS)


def check_board(board: str) -> Any:
    """The board's description, or a one-line error that lists the boards."""
    boards = build_config().BOARDS
    if board not in boards:
        raise FirmwareError(f"unknown board '{board}'; boards: {', '.join(boards)}")
    return boards[board]


def board_regions(board: str) -> list[dict[str, Any]]:
    """Memory regions of a board as dicts (name, origin, length, kind)."""
    return [dict(vars(r)) for r in check_board(board).regions]


def icount_shift(board: str = "mps2_an500") -> int:
    """The -icount shift the emulated board's firmware assumes (EDGEKWS_ICOUNT_SHIFT)."""
    for d in check_board(board).defines:
        if d.startswith("EDGEKWS_ICOUNT_SHIFT="):
            return int(d.split("=", 1)[1])
    return 0


def _require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise FirmwareError(f"{tool} is not installed (tools/setup.sh installs it: "
                            "apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi cmake)")
    return path


def resolve_model_dir(bundle_or_model_dir: str | Path, out_dir: str | Path) -> tuple[Path, Path | None]:
    """(generated C directory, bundle directory or None).

    A directory holding ``edgekws_model.h`` is used as is; a bundle (``bundle.json``)
    is exported with ``edgekws.export.codegen_c.export_c`` into ``out_dir/model_c``.
    """
    src = Path(bundle_or_model_dir)
    if (src / "edgekws_model.h").is_file():
        return src.resolve(), None
    if (src / "bundle.json").is_file():
        from edgekws.export.codegen_c import export_c

        model_dir = Path(out_dir) / "model_c"
        model_dir.mkdir(parents=True, exist_ok=True)
        export_c(src, model_dir)
        return model_dir.resolve(), src.resolve()
    if not src.exists():
        raise FirmwareError(f"{src}: no such bundle or generated-C directory")
    raise FirmwareError(f"{src} is neither a model bundle (bundle.json) nor generated model C (edgekws_model.h)")


_ASSERT = re.compile(r"ld(?:\.exe)?: (?:error: )?edgekws: ([^\n]+)")  # a linker-script ASSERT
_OVERFLOW = re.compile(r"region [`']?(\w+)'? overflowed by (\d+) bytes")
_NOFIT = re.compile(r"section [`']?([\w.]+)'? will not fit in region [`']?(\w+)'?")


def explain_link_failure(log: str, board: str) -> str | None:
    """One line for a memory overflow in a failed link, else None.

    The linker scripts' ASSERTs say what does not fit in words ("model arena does
    not fit SRAM ..."); ld's own message adds by how many bytes.
    """
    said = _ASSERT.search(log)
    over = _OVERFLOW.search(log)
    nofit = _NOFIT.search(log)
    if said is None and over is None and nofit is None:
        return None
    what = said.group(1).strip() if said else f"region {(over or nofit).group(1 if over else 2)} is full"
    detail = f" (region {over.group(1)} overflowed by {over.group(2)} bytes)" if over else ""
    return f"firmware does not fit {board}: {what}{detail}; use a smaller or pruned model"


_CMAKE_ERROR = re.compile(r"CMake Error at [^\n]*\n\s*\n?((?:[ \t]+\S[^\n]*\n?)+)")


def _cmake_error(log: str) -> str | None:
    """The message of a CMake FATAL_ERROR (indented lines after "CMake Error at ...") as one line."""
    match = _CMAKE_ERROR.search(log)
    if match is None:
        return None
    msg = " ".join(line.strip() for line in match.group(1).splitlines() if line.strip())
    for prefix in ("edgekws: ", "build_config: error: "):
        msg = msg.removeprefix(prefix)
    return msg[:400]


def _first_error(log: str) -> str:
    for line in log.splitlines():
        if "error" in line.lower():
            return line.strip()[:300]
    return (log.strip().splitlines() or ["(no output)"])[-1][:300]


def build_firmware(board: str, bundle_or_model_dir: str | Path, out_dir: str | Path, *,
                   selftest_only: bool = False, defines: Sequence[str] = (), jobs: int = 2,
                   check_memory: bool = True) -> Path:
    """Configure and build the firmware; returns the ELF (``out_dir/edgekws_<board>.elf``).

    ``selftest_only`` builds the boot self-test image (QEMU exits with its status);
    otherwise the serial server image when the tree has it. ``defines`` are extra
    ``NAME=VALUE`` compile definitions. Writes ``build.log`` and ``memory.json`` to
    ``out_dir``; when built from a bundle, the memory figures also go into its
    report.json. Raises :class:`FirmwareError` with one line on any failure.
    """
    desc = check_board(board)
    cmake = _require("cmake")
    _require("arm-none-eabi-gcc" if desc.cross else "gcc")
    fw = firmware_dir()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model_dir, bundle = resolve_model_dir(bundle_or_model_dir, out)
    cmake_dir = out / "cmake"
    configure = [
        cmake, "-S", str(fw), "-B", str(cmake_dir),
        *([f"-DCMAKE_TOOLCHAIN_FILE={fw / 'cmake' / 'arm-none-eabi.cmake'}"] if desc.cross else []),
        f"-DEDGEKWS_BOARD={board}",
        f"-DEDGEKWS_MODEL_DIR={model_dir}",
        f"-DEDGEKWS_APP={'selftest' if selftest_only else ''}",
        f"-DEDGEKWS_EXTRA_DEFINES={';'.join(defines)}",
        f"-DPython3_EXECUTABLE={sys.executable}",
    ]
    build = [cmake, "--build", str(cmake_dir), "-j", str(max(1, jobs))]
    log_path = out / "build.log"
    log = []
    for cmd in (configure, build):
        proc = subprocess.run(cmd, capture_output=True, text=True)
        log.append(f"$ {' '.join(cmd)}\n{proc.stdout}{proc.stderr}")
        log_path.write_text("\n".join(log))
        if proc.returncode != 0:
            text = proc.stdout + proc.stderr
            if cmd is configure:
                said = _cmake_error(text)
                reason = f"firmware configure failed for {board}: {said}" if said else None
            else:
                reason = explain_link_failure(text, board)
            if reason is None:
                reason = f"firmware build failed for {board}: {_first_error(text)} (full log: {log_path})"
            raise FirmwareError(reason)
    built = cmake_dir / f"edgekws_{board}.elf"
    elf = out / built.name
    tmp = elf.with_suffix(".elf.tmp")
    shutil.copy2(built, tmp)
    os.replace(tmp, elf)
    binary = cmake_dir / f"edgekws_{board}.bin"
    if binary.is_file():
        shutil.copyfile(binary, out / binary.name)

    if not desc.regions:
        return elf  # the host program: no memory map to check
    from edgekws.device.memory import elf_memory, record_in_report

    mem = elf_memory(elf, board, check=check_memory)
    mem_path = out / "memory.json"
    tmp_mem = mem_path.with_suffix(".json.tmp")
    tmp_mem.write_text(json.dumps(mem, indent=2, sort_keys=True) + "\n")
    os.replace(tmp_mem, mem_path)
    if bundle is not None and os.access(bundle, os.W_OK):
        record_in_report(bundle, mem, elf=elf)
    return elf
