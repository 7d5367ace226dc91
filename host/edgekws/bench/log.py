"""Per-item results as JSON Lines, appended and flushed as they arrive.

Why JSONL: a run killed at any moment (a vanished port, Ctrl-C, a CI timeout)
leaves every finished item on disk, one complete line each; a torn last line
is ignored when reading back. ``--resume`` reads the file and skips what is
there, so an interrupted accuracy run over thousands of clips loses nothing.

The first line of a file is a ``{"kind": "meta", ...}`` record naming the
bundle and device; resuming against another bundle is refused.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from edgekws.errors import ConfigError


class ResultLog:
    """Append-only JSONL file of one bench run (or of several resumed ones)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.records: list[dict[str, Any]] = []
        self._fh = None

    def open(self, meta: dict[str, Any], resume: bool) -> ResultLog:
        """Start the file (or continue it with ``resume``); ``meta`` identifies the run."""
        if self.path is None:
            self.records = [dict(meta, kind="meta")]
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if resume and self.path.is_file():
            self.records = read_jsonl(self.path)
            old = next((r for r in self.records if r.get("kind") == "meta"), None)
            if old is not None:
                for key in ("bundle_hash", "mode"):
                    if old.get(key) != meta.get(key):
                        raise ConfigError(
                            f"{self.path} holds a run with {key}={old.get(key)!r}, not {meta.get(key)!r}; "
                            "use another --jsonl file or drop --resume")
            self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the run
            self._repair_tail()
            if old is None:
                self.append(dict(meta, kind="meta"))
        else:
            self._fh = open(self.path, "w", encoding="utf-8")  # noqa: SIM115
            self.records = []
            self.append(dict(meta, kind="meta"))
        return self

    def _repair_tail(self) -> None:
        """A killed writer may leave a line without its newline: end it so the next record is whole."""
        assert self.path is not None and self._fh is not None
        with open(self.path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            if fh.tell() == 0:
                return
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":
                self._fh.write("\n")
                self._fh.flush()

    def append(self, record: dict[str, Any]) -> None:
        self.records.append(record)
        if self._fh is not None:
            self._fh.write(json.dumps(record, sort_keys=True) + "\n")
            self._fh.flush()
            os.fsync(self._fh.fileno())

    def done(self, kind: str) -> set[int]:
        """Item indices of ``kind`` already recorded."""
        return {int(r["index"]) for r in self.records if r.get("kind") == kind and "index" in r}

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        """Records of one kind, the last one winning per index (a resumed item written twice counts once)."""
        by_index: dict[int, dict[str, Any]] = {}
        for r in self.records:
            if r.get("kind") == kind:
                by_index[int(r.get("index", len(by_index)))] = r
        return [by_index[k] for k in sorted(by_index)]

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """All complete records of a JSONL file; a torn or garbled line is skipped."""
    out = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict):
            out.append(rec)
    return out
