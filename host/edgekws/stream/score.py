"""Scoring streaming detections against a stream's ground truth.

A keyword event is *hit* by the first detection with the same label whose time
lies in ``[start_ms, end_ms + tolerance_ms]`` (the spoken part of the clip plus
the latency a detector needs). Every other detection is a false alarm; those
that land on a keyword with the wrong label are also counted as confusions.
Delay is detection time minus the end of the spoken word (it can be negative:
a detector may fire before the word ends).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgekws.errors import DatasetError
from edgekws.stream.detector import Detection

DEFAULT_TOLERANCE_MS = 1000.0


@dataclass(frozen=True)
class StreamScore:
    """Counts and rates of one scored stream (delays in ms, ``None`` without hits)."""

    num_keywords: int
    hits: int
    misses: int
    false_alarms: int
    confusions: int
    duration_s: float
    hit_rate: float
    false_alarms_per_hour: float
    mean_delay_ms: float | None
    median_delay_ms: float | None
    tolerance_ms: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _det_fields(d: Detection | dict[str, Any]) -> tuple[float, str]:
    if isinstance(d, Detection):
        return float(d.time_ms), d.name
    try:
        return float(d["time_ms"]), str(d["name"])
    except (KeyError, TypeError, ValueError):
        raise DatasetError("a detection needs time_ms and name") from None


def score_detections(detections: Sequence[Detection | dict[str, Any]], truth: dict[str, Any],
                     tolerance_ms: float = DEFAULT_TOLERANCE_MS) -> StreamScore:
    """Hit rate, false alarms per hour and detection delay of ``detections`` on ``truth``."""
    if tolerance_ms < 0:
        raise DatasetError(f"tolerance_ms must be >= 0, got {tolerance_ms:g}")
    keywords = [e for e in truth.get("events", []) if e.get("keyword")]
    keywords.sort(key=lambda e: float(e["start_ms"]))
    matched = [False] * len(keywords)
    delays: list[float] = []
    false_alarms = confusions = 0
    for t, name in sorted(_det_fields(d) for d in detections):
        hit = None
        near = False
        for i, e in enumerate(keywords):
            if float(e["start_ms"]) <= t <= float(e["end_ms"]) + tolerance_ms:
                near = True
                if not matched[i] and e["label"] == name:
                    hit = i
                    break
        if hit is None:
            false_alarms += 1
            confusions += near and not any(
                e["label"] == name and float(e["start_ms"]) <= t <= float(e["end_ms"]) + tolerance_ms
                for e in keywords)
            continue
        matched[hit] = True
        delays.append(t - float(keywords[hit]["end_ms"]))
    duration_s = float(truth.get("duration_s", 0.0))
    hits = sum(matched)
    return StreamScore(
        num_keywords=len(keywords), hits=hits, misses=len(keywords) - hits, false_alarms=false_alarms,
        confusions=int(confusions), duration_s=duration_s,
        hit_rate=hits / len(keywords) if keywords else float("nan"),
        false_alarms_per_hour=false_alarms * 3600.0 / duration_s if duration_s > 0 else float("nan"),
        mean_delay_ms=float(np.mean(delays)) if delays else None,
        median_delay_ms=float(np.median(delays)) if delays else None,
        tolerance_ms=float(tolerance_ms),
    )


def load_detections(path: str | Path) -> list[Detection]:
    """Detections written by ``edgekws listen --out`` (a JSON object with a ``detections`` list, or a list)."""
    p = Path(path)
    try:
        data = json.loads(p.read_text())
    except FileNotFoundError:
        raise DatasetError(f"{p}: no such detections file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{p}: not a readable JSON file ({str(exc).splitlines()[0]})") from None
    items = data.get("detections") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise DatasetError(f"{p}: expected a list of detections")
    try:
        return [Detection.from_dict(d) for d in items]
    except (KeyError, TypeError, ValueError):
        raise DatasetError(f"{p}: each detection needs time_ms, hop, label, score") from None


def write_json_atomic(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON, atomically (temp file + os.replace)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps(obj, indent=2) + "\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p
