"""Merge bench figures into a report.json (the bundle's, usually), atomically.

Layout added under ``"device"`` (one entry per board, so a board run and an
emulator run sit side by side and are never mixed)::

    "device": {
      "mps2_an500": {
        "board", "clock_hz", "counter_unit",
        "firmware": {"version", "bundle_hash", "backends", "protocol_version", "elf_sha256"?},
        "memory": {"arena_bytes", "weights_bytes", "stack_used", ..., "flash_bytes"?, "ram_bytes"?},
        "latency": {...}, "accuracy": {...}, "audio": {...},     # per mode, the latest run
        "status": "complete" | "partial", "error"?: "...", "updated": ISO time
      }
    }

report.json is not covered by the bundle hash, so adding device figures does
not invalidate the bundle.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from edgekws.errors import BundleError


def read_report(report_path: Path) -> dict[str, Any]:
    """A report.json as a dict ({} when absent); a corrupt one is a one-line BundleError, never overwritten."""
    report: dict[str, Any] = {}
    if report_path.is_file():
        try:
            report = json.loads(report_path.read_text())
        except json.JSONDecodeError as exc:
            raise BundleError(f"{report_path} is not valid JSON ({str(exc).splitlines()[0]})") from None
        if not isinstance(report, dict):
            raise BundleError(f"{report_path} must hold a JSON object")
    return report


def write_report(report_path: Path, report: dict[str, Any]) -> None:
    """Write atomically (temp file + os.replace): an interrupted run never leaves half a report."""
    report_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=report_path.parent, prefix=f".{report_path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(report, fh, indent=2, sort_keys=True)
            fh.write("\n")
        os.replace(tmp, report_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def merge_device_figures(report_path: Path, board: str, figures: dict[str, Any]) -> Path:
    """report[device][board].update(figures); write atomically (temp file + os.replace)."""
    report = read_report(report_path)
    device = report.setdefault("device", {})
    entry = device.setdefault(board, {})
    entry.update(figures)
    if "error" in entry and figures.get("status") == "complete":
        entry.pop("error")
    write_report(report_path, report)
    return report_path
