"""On-disk cache of feature arrays, so a dataset's features are computed once.

An entry is one ``.npz`` file named by a SHA-256 key of everything that
decides its content (frontend hash, dataset file list with sizes and mtimes,
dataset and augmentation settings, split, seed). Changing any of them gives a
new key, so a stale entry is never read; nothing needs invalidating.

Writes are atomic (temp file in the same directory, then ``os.replace``): two
processes filling the same entry, or a run killed mid-write, never leave a
truncated file behind that a later run would trust.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

CACHE_VERSION = 1
CACHE_ENV = "EDGEKWS_CACHE_DIR"


def default_cache_dir() -> Path:
    """``$EDGEKWS_CACHE_DIR``, else ``$XDG_CACHE_HOME/edgekws/features`` (``~/.cache/...``)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "edgekws" / "features"


def cache_key(parts: dict) -> str:
    """Stable hex key of a JSON-able dict (canonical JSON, SHA-256)."""
    blob = json.dumps({"cache_version": CACHE_VERSION, **parts}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def entry_path(cache_dir: str | Path, key: str) -> Path:
    """Where the entry for ``key`` lives."""
    return Path(cache_dir) / f"{key}.npz"


def load_entry(cache_dir: str | Path, key: str) -> dict[str, np.ndarray] | None:
    """The cached arrays, or ``None`` on a miss or an unreadable entry (then recomputed)."""
    path = entry_path(cache_dir, key)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError):
        return None


def save_entry(cache_dir: str | Path, key: str, arrays: dict[str, np.ndarray]) -> Path:
    """Write an entry atomically and return its path."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = entry_path(cache_dir, key)
    fd, tmp = tempfile.mkstemp(prefix=f".{key[:16]}.", suffix=".tmp", dir=cache_dir)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
