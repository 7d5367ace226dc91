"""``--emulate``: build the firmware for the emulated board if needed, start QEMU, hand back its URL.

"If needed" is decided by a stamp next to the ELF: the bundle hash and a digest
of the firmware sources. Same stamp, same ELF: no rebuild (a build takes a
while on two cores); anything changed: rebuild.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from edgekws.errors import ConfigError

EMULATED_BOARD = "mps2_an500"
_SOURCE_SUFFIXES = {".c", ".h", ".ld", ".py", ".txt", ".cmake", ".s", ".S"}


def firmware_digest(fw_dir: Path) -> str:
    """sha256 over the firmware tree's sources (paths and contents)."""
    h = hashlib.sha256()
    for p in sorted(fw_dir.rglob("*")):
        if p.is_file() and p.suffix in _SOURCE_SUFFIXES and "__pycache__" not in p.parts:
            h.update(p.relative_to(fw_dir).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def model_digest(model: Path) -> str:
    """What identifies a model for the build stamp: a bundle's hash, or a digest of generated C's files."""
    if (model / "bundle.json").is_file():
        return str(json.loads((model / "bundle.json").read_text())["bundle_hash"])
    h = hashlib.sha256()
    for p in sorted(model.glob("*")):
        if p.is_file() and p.suffix in (".c", ".h"):
            h.update(p.name.encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def ensure_firmware(bundle_dir: Path, bundle_hash: str, build_dir: Path, board: str = EMULATED_BOARD,
                    note: Callable[[str], None] = print,
                    defines: tuple[str, ...] = ()) -> tuple[Path, dict[str, Any]]:
    """(ELF, memory figures) of the server firmware for ``bundle_dir``, built only when stale.

    ``defines``: extra NAME=VALUE compile definitions (part of the stamp)."""
    from edgekws.device.build import build_firmware, firmware_dir

    stamp_path = build_dir / "bench-stamp.json"
    stamp: dict[str, Any] = {"bundle_hash": bundle_hash, "firmware": firmware_digest(firmware_dir()), "board": board}
    if defines:
        stamp["defines"] = list(defines)
    elf = build_dir / f"edgekws_{board}.elf"
    mem_path = build_dir / "memory.json"
    old = None
    if stamp_path.is_file():
        try:
            old = json.loads(stamp_path.read_text())
        except json.JSONDecodeError:
            old = None
    if old != stamp or not elf.is_file():
        note(f"building the {board} firmware for {bundle_dir} into {build_dir} ...")
        # a clean configure: sources added to the tree since the last build must join the target
        shutil.rmtree(build_dir / "cmake", ignore_errors=True)
        elf = build_firmware(board, bundle_dir, build_dir, defines=defines)
        tmp = stamp_path.with_name(f".{stamp_path.name}.tmp")
        tmp.write_text(json.dumps(stamp, indent=2) + "\n")
        os.replace(tmp, stamp_path)
    mem = json.loads(mem_path.read_text()) if mem_path.is_file() else {}
    return elf, mem


@contextmanager
def emulated_device(bundle_dir: Path, bundle_hash: str, build_dir: Path, board: str = EMULATED_BOARD,
                    note: Callable[[str], None] = print) -> Iterator[tuple[str, dict[str, Any]]]:
    """Start QEMU with the firmware on a free localhost port; yields (url, firmware info); stops it after."""
    if board != EMULATED_BOARD:
        raise ConfigError(f"--emulate runs the {EMULATED_BOARD} image in QEMU, not {board}")
    from edgekws.device.emulator import Emulator

    elf, mem = ensure_firmware(bundle_dir, bundle_hash, build_dir, board, note)
    info = {"elf": str(elf), "elf_sha256": file_sha256(elf), "memory": mem}
    with Emulator(elf, serial="tcp") as emu:
        yield emu.url, info
