"""Configuration of one bench run (plain data; the CLI fills it from flags)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from edgekws.errors import ConfigError

MODES = ("latency", "accuracy", "audio")


@dataclass(frozen=True)
class BenchConfig:
    """What to measure, on which device, and where the results go.

    port: device path or pyserial URL; None with ``emulate`` (QEMU is started).
    runs: warm runs of latency mode. limit: at most this many test items (accuracy/audio).
    jsonl: per-item results, appended and flushed as they arrive; ``resume`` skips
    the items already there (after an interrupted run).
    out: report.json to merge the figures into (usually the bundle's).
    """

    bundle: Path
    mode: str = "latency"
    port: str | None = None
    baud: int = 115200
    runs: int = 20
    warmup: int = 1
    limit: int | None = None
    out: Path | None = None
    jsonl: Path | None = None
    resume: bool = False
    emulate: bool = False
    board: str = "mps2_an500"
    build_dir: Path | None = None
    timeout: float = 5.0
    retries: int = 3
    infer_timeout: float = 120.0
    max_resets: int = 3
    progress: bool = True

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"unknown bench mode {self.mode!r}; choose one of {', '.join(MODES)}")
        if self.port is None and not self.emulate:
            raise ConfigError("give --port URL (a board or socket://host:port) or --emulate")
        if self.port is not None and self.emulate:
            raise ConfigError("--port and --emulate exclude each other")
        if self.runs < 1:
            raise ConfigError("--runs must be at least 1")
        if self.limit is not None and self.limit < 1:
            raise ConfigError("--limit must be at least 1")
        if self.resume and self.jsonl is None:
            raise ConfigError("--resume needs --jsonl FILE (the results of the interrupted run)")
        if self.timeout <= 0 or self.retries < 0:
            raise ConfigError("--timeout must be positive and --retries non-negative")

    def to_dict(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}
