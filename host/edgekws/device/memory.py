"""Flash and RAM use of a firmware ELF, and whether it fits its board.

Why from the ELF and not from the exporter's estimate: the ELF is what is
flashed, so code, libc helpers, alignment padding, the stack and the server's
buffers are all counted. Each allocated section is charged to the board
region that holds it (by its run address; a ``.data`` image is also charged to
flash at its load address), using the region table of firmware/build_config.py,
the same table the linker scripts implement.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from edgekws.device.build import board_regions
from edgekws.errors import FirmwareError


@dataclass(frozen=True)
class RegionUse:
    """Bytes of one memory region that the image occupies."""

    name: str
    kind: str  # "flash" | "ram"
    origin: int
    size: int
    used: int

    @property
    def free(self) -> int:
        return self.size - self.used


def _symbols(elf: ELFFile) -> dict[str, tuple[int, int]]:
    table = elf.get_section_by_name(".symtab")
    if not isinstance(table, SymbolTableSection):
        return {}
    return {s.name: (int(s["st_value"]), int(s["st_size"])) for s in table.iter_symbols() if s.name}


def _load_address(elf: ELFFile, vaddr: int) -> int:
    """Load (flash) address of a run address, from the program headers."""
    for seg in elf.iter_segments():
        if seg["p_type"] == "PT_LOAD" and seg["p_vaddr"] <= vaddr < seg["p_vaddr"] + max(seg["p_memsz"], 1):
            return int(seg["p_paddr"] + (vaddr - seg["p_vaddr"]))
    return vaddr


def _fmt(n: int) -> str:
    return f"{n / 1024:.1f} KiB"


def elf_memory(elf_path: str | Path, board: str, *, regions: list[dict[str, Any]] | None = None,
               check: bool = True) -> dict[str, Any]:
    """Memory use of ``elf_path`` on ``board``.

    Returns ``{"board", "flash_bytes", "flash_size", "ram_bytes", "ram_size", "regions": [...],
    "sections": {name: {"addr", "size", "region"}}, "arena_bytes", "stack_bytes"}``.
    ``regions`` overrides the board's table (tests; what-if questions).
    With ``check`` a region overflow raises :class:`FirmwareError` with one line.
    """
    path = Path(elf_path)
    if not path.is_file():
        raise FirmwareError(f"{path}: no such firmware ELF")
    table = regions if regions is not None else board_regions(board)
    if not table:
        raise FirmwareError(f"{board} has no memory map to check (a host program, not a microcontroller)")
    used = {r["name"]: 0 for r in table}
    sections: dict[str, dict[str, Any]] = {}

    def region_of(addr: int) -> dict[str, Any] | None:
        return next((r for r in table if r["origin"] <= addr < r["origin"] + r["length"]), None)

    with path.open("rb") as fh:
        try:
            elf = ELFFile(fh)
        except Exception as exc:  # pyelftools raises several types for a non-ELF file
            raise FirmwareError(f"{path}: not an ELF file ({exc})") from exc
        if elf["e_machine"] != "EM_ARM":
            raise FirmwareError(f"{path}: not an ARM firmware ELF (machine {elf['e_machine']})")
        for sec in elf.iter_sections():
            size = int(sec["sh_size"])
            if not (sec["sh_flags"] & SH_FLAGS.SHF_ALLOC) or size == 0:
                continue
            addr = int(sec["sh_addr"])
            run = region_of(addr)
            name = run["name"] if run else "?"
            if run is None:
                raise FirmwareError(f"{path}: section {sec.name} at {addr:#x} lies outside every memory region "
                                    f"of {board} (built for another board?)")
            used[run["name"]] += size
            if sec["sh_type"] != "SHT_NOBITS" and run["kind"] == "ram":
                load = region_of(_load_address(elf, addr))
                if load is not None and load["kind"] == "flash":
                    used[load["name"]] += size  # the initial values of .data live in flash
            sections[sec.name] = {"addr": addr, "size": size, "region": name}
        syms = _symbols(elf)

    uses = [RegionUse(r["name"], r["kind"], r["origin"], r["length"], used[r["name"]]) for r in table]
    arena = syms.get("edgekws_arena", (0, 0))[1]
    stack = syms.get("__stack_top", (0, 0))[0] - syms.get("__stack_limit", (0, 0))[0]
    result = {
        "board": board,
        "flash_bytes": sum(u.used for u in uses if u.kind == "flash"),
        "flash_size": sum(u.size for u in uses if u.kind == "flash"),
        "ram_bytes": sum(u.used for u in uses if u.kind == "ram"),
        "ram_size": sum(u.size for u in uses if u.kind == "ram"),
        "regions": [asdict(u) for u in uses],
        "sections": sections,
        "arena_bytes": arena,
        "stack_bytes": stack,
    }
    if check:
        over = [u for u in uses if u.used > u.size]
        if over:
            u = over[0]
            raise FirmwareError(
                f"firmware does not fit {board}: {u.name} needs {u.used} bytes ({_fmt(u.used)}) but has "
                f"{u.size} ({_fmt(u.size)}), over by {u.used - u.size} bytes "
                f"(model arena {arena} B, stack {stack} B); use a smaller or pruned model")
    return result


def summary_line(mem: dict[str, Any]) -> str:
    """One human line: flash and RAM per region."""
    parts = [f"{r['name']} {r['used']}/{r['size']} B ({100.0 * r['used'] / r['size']:.1f}%)" for r in mem["regions"]]
    return f"{mem['board']}: " + ", ".join(parts)


def merge_into_report(bundle_dir: str | Path, section: str, board: str, entry: dict[str, Any]) -> Path:
    """Set ``report.json[section][board] = entry`` in a bundle (atomic write).

    report.json is not covered by the bundle hash, so device figures can be added
    after export without invalidating the bundle.
    """
    report_path = Path(bundle_dir) / "report.json"
    report: dict[str, Any] = json.loads(report_path.read_text()) if report_path.is_file() else {}
    report.setdefault(section, {})[board] = entry
    fd, tmp = tempfile.mkstemp(dir=report_path.parent, prefix=".report.", suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        json.dump(report, fh, indent=2, sort_keys=True)
        fh.write("\n")
    os.replace(tmp, report_path)
    return report_path


def record_in_report(bundle_dir: str | Path, mem: dict[str, Any], *, elf: str | Path | None = None) -> Path:
    """The ELF's memory figures into the bundle's report.json under ``firmware_memory[board]``."""
    entry = {k: mem[k] for k in ("flash_bytes", "flash_size", "ram_bytes", "ram_size", "arena_bytes",
                                 "stack_bytes", "regions")}
    if elf is not None:
        entry["elf"] = Path(elf).name
    return merge_into_report(bundle_dir, "firmware_memory", mem["board"], entry)
