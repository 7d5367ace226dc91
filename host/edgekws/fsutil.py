"""Atomic file writes: a reader (or a crash) never sees a half-written bundle, report or C file.

Why one helper: bundles, reports and generated C are rewritten in place by later commands (``export
autotune``, ``evaluate`` merging into report.json, ``export c``). Writing to a temporary file in the
same folder and renaming it over the target is atomic on POSIX, so an interrupted run leaves the old
file whole; the temporary file is removed when the write fails.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any


def write_atomic(path: str | Path, data: bytes | str, *, encoding: str = "utf-8", mkdir: bool = False) -> None:
    """Write ``data`` (text is encoded with ``encoding``, newlines as given) to ``path`` atomically."""
    path = Path(path)
    if mkdir:
        path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode(encoding) if isinstance(data, str) else data
    # not tempfile.mkstemp: its 0600 mode would make bundles unreadable to other users
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        tmp.write_bytes(raw)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def save_npy_atomic(path: str | Path, array: Any, *, mkdir: bool = False) -> None:
    """``np.save`` through :func:`write_atomic`: features and probabilities written once, read by later runs."""
    import numpy as np

    buf = io.BytesIO()
    np.save(buf, np.asarray(array))
    write_atomic(path, buf.getvalue(), mkdir=mkdir)
