#!/usr/bin/env python3
"""Fetch Arm CMSIS-NN (Include/ and Source/ only) into a cache outside the repository.

Why a PyPI wheel: the project installs only from Debian, PyPI and npm, and
CMSIS-NN is not packaged for any of them on its own. The wheel
``aidge-export-arm-cortexm==0.2.1`` (Eclipse Aidge's Cortex-M exporter) carries
an unmodified copy of CMSIS-NN V12.5.1 (upstream ARM-software/CMSIS-NN commit
3b4e406b, every file ``SPDX-License-Identifier: Apache-2.0``) under
``aidge_export_arm_cortexm/_CMSIS-NN/CMSIS-NN/``. This script downloads that
wheel with pip (no dependencies, nothing installed), checks its sha256 against
the pin below, extracts only ``Include/`` and ``Source/``, checks the extracted
tree against a second pin, records the licence, and writes ``manifest.json``.
Nothing of CMSIS-NN is ever written into the repository.

The cache is ``~/.cache/edgekws/cmsis-nn-12.5.1`` unless ``EDGEKWS_CMSISNN_CACHE``
names another directory; the firmware build and the host exporter look there by
default (``EDGEKWS_CMSISNN_DIR`` still overrides both). A second run only
checks the cache (no network); ``--check`` never downloads.

    .venv/bin/python tools/fetch_cmsisnn.py [--check] [--dir DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

PACKAGE = "aidge-export-arm-cortexm"
PACKAGE_VERSION = "0.2.1"
WHEEL_NAME = "aidge_export_arm_cortexm-0.2.1-py3-none-any.whl"
WHEEL_SHA256 = "0ea6a694b8c1397bf52158c27854bbd4ddfca433ed4cf06a4c92843b480acbf0"
WHEEL_PREFIX = "aidge_export_arm_cortexm/_CMSIS-NN/CMSIS-NN/"
PARTS = ("Include", "Source")
# sha256 over the sorted (relative path, file sha256) lines of the extracted Include/ and Source/ (tree_digest).
TREE_SHA256 = "75ea5e9f63ac6b65979b7b7a8aff187ee7c64af4d062632fc82bd78937120f96"

CMSISNN_VERSION = "12.5.1"
UPSTREAM = "https://github.com/ARM-software/CMSIS-NN"
UPSTREAM_COMMIT = "3b4e406b144f006f916004584350e869e79f016c"
UPSTREAM_DESCRIBE = "v5.0.0-8-g3b4e406b"  # 8 commits after release v5.0.0; header revision V.12.5.1
LICENSE_ID = "Apache-2.0"
COPYRIGHT = "Copyright 2010-2024 Arm Limited and/or its affiliates"
# Debian's copy of the licence text (package base-files); used for LICENSE in the cache when present.
SYSTEM_LICENSE = Path("/usr/share/common-licenses/Apache-2.0")

CACHE_ENV = "EDGEKWS_CMSISNN_CACHE"
MANIFEST = "manifest.json"


class FetchError(Exception):
    """A failure reported as one ``error: ...`` line."""


def default_dir() -> Path:
    """The cache directory: $EDGEKWS_CMSISNN_CACHE, else ~/.cache/edgekws/cmsis-nn-<version>.

    The same rule as host/edgekws/export/kernels_cmsisnn.py:cache_dir (tests check they agree).
    """
    given = os.environ.get(CACHE_ENV)
    if given:
        return Path(given).expanduser()
    return Path.home() / ".cache" / "edgekws" / f"cmsis-nn-{CMSISNN_VERSION}"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def tree_digest(root: Path) -> tuple[str, int]:
    """sha256 of the sorted "path sha256" lines of every file under root/Include and root/Source; file count.

    Why a tree pin on top of the wheel pin: the second run has no wheel to check, only the extracted
    files, and a cache edited by hand (or half-written) must not pass for CMSIS-NN 12.5.1.
    """
    lines = []
    for part in PARTS:
        base = root / part
        if not base.is_dir():
            raise FetchError(f"{base} is missing")
        for p in sorted(base.rglob("*")):
            if p.is_file():
                lines.append(f"{p.relative_to(root).as_posix()} {sha256_file(p)}\n")
    return hashlib.sha256("".join(sorted(lines)).encode()).hexdigest(), len(lines)


def check(root: Path) -> dict[str, object]:
    """The manifest of a complete, unmodified cache at ``root``; FetchError saying what is wrong otherwise."""
    manifest_path = root / MANIFEST
    if not manifest_path.is_file():
        raise FetchError(f"no {MANIFEST} in {root}")
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError) as exc:
        raise FetchError(f"{manifest_path} is unreadable: {exc}") from exc
    want = {"cmsis_nn_version": CMSISNN_VERSION, "upstream_commit": UPSTREAM_COMMIT, "wheel_sha256": WHEEL_SHA256,
            "tree_sha256": TREE_SHA256, "license": LICENSE_ID}
    for key, value in want.items():
        if manifest.get(key) != value:
            raise FetchError(f"{manifest_path}: {key} is {manifest.get(key)!r}, expected {value!r}")
    digest, _ = tree_digest(root)
    if digest != TREE_SHA256:
        raise FetchError(f"the files under {root} differ from CMSIS-NN {CMSISNN_VERSION} "
                         f"(tree sha256 {digest[:16]}..., expected {TREE_SHA256[:16]}...)")
    if not (root / "LICENSE").is_file() and not (root / "NOTICE").is_file():
        raise FetchError(f"no LICENSE or NOTICE in {root}")
    return manifest


def download_wheel(work: Path) -> Path:
    """``pip download --no-deps`` the pinned wheel into ``work``; returns its path after the sha256 check."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--no-cache-dir",
           "--disable-pip-version-check", "-q", "-d", str(work), f"{PACKAGE}=={PACKAGE_VERSION}"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1][:300]
        raise FetchError(f"pip download {PACKAGE}=={PACKAGE_VERSION} failed: {last}")
    return verify_wheel(work / WHEEL_NAME)


def verify_wheel(wheel: Path) -> Path:
    """``wheel`` if it is the pinned file (sha256), else FetchError."""
    if not wheel.is_file():
        raise FetchError(f"pip download did not produce {wheel.name} in {wheel.parent}")
    got = sha256_file(wheel)
    if got != WHEEL_SHA256:
        raise FetchError(f"{wheel.name} has sha256 {got}, expected {WHEEL_SHA256}")
    return wheel


def extract(wheel: Path, out: Path) -> int:
    """Only ``<prefix>Include/**`` and ``<prefix>Source/**`` of the wheel into ``out``; returns the file count."""
    n = 0
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            if info.is_dir() or not info.filename.startswith(WHEEL_PREFIX):
                continue
            rel = PurePosixPath(info.filename[len(WHEEL_PREFIX):])
            if not rel.parts or rel.parts[0] not in PARTS or ".." in rel.parts or rel.is_absolute():
                continue
            target = out.joinpath(*rel.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, target.open("wb") as dst:
                shutil.copyfileobj(src, dst)
            n += 1
    if n == 0:
        raise FetchError(f"{wheel.name} holds no {WHEEL_PREFIX}{{Include,Source}}/")
    return n


def spdx_lines(root: Path) -> tuple[list[str], set[str]]:
    """The distinct SPDX copyright lines and licence identifiers the extracted files declare."""
    copyrights: set[str] = set()
    licences: set[str] = set()
    for p in sorted(root.rglob("*")):
        if not p.is_file():
            continue
        for line in p.read_text(errors="replace").splitlines()[:30]:
            text = line.strip().lstrip("*/# ").strip()
            if text.startswith("SPDX-FileCopyrightText:"):
                copyrights.add(text.split(":", 1)[1].strip())
            elif text.startswith("SPDX-License-Identifier:"):
                licences.add(text.split(":", 1)[1].strip())
    return sorted(copyrights), licences


def write_licence(root: Path) -> str:
    """LICENSE (Debian's Apache-2.0 text when available) and NOTICE (what the files declare); returns the
    LICENSE source. The wheel has no LICENSE file of CMSIS-NN's own: every source file carries the SPDX
    header, which NOTICE quotes."""
    copyrights, licences = spdx_lines(root)
    if licences != {LICENSE_ID}:
        raise FetchError(f"the extracted files declare licences {sorted(licences)}, expected only {LICENSE_ID}")
    notice = [f"CMSIS-NN {CMSISNN_VERSION} ({UPSTREAM}, commit {UPSTREAM_COMMIT})",
              f"extracted from the PyPI wheel {WHEEL_NAME} (sha256 {WHEEL_SHA256}),",
              f"folders {WHEEL_PREFIX}{{Include,Source}} only, unmodified.",
              "",
              f"Licence: {LICENSE_ID} (every file: SPDX-License-Identifier: {LICENSE_ID}).",
              "Copyright lines declared by the files (SPDX-FileCopyrightText):",
              *(f"  {c}" for c in copyrights), "",
              "Licence text: https://www.apache.org/licenses/LICENSE-2.0"]
    (root / "NOTICE").write_text("\n".join(notice) + "\n")
    if SYSTEM_LICENSE.is_file():
        shutil.copyfile(SYSTEM_LICENSE, root / "LICENSE")
        return str(SYSTEM_LICENSE)
    return "none (see NOTICE)"


def fetch(root: Path) -> dict[str, object]:
    """Download, verify and extract into ``root`` (replacing whatever is there); returns the manifest."""
    root.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="edgekws-cmsisnn-", dir=root.parent) as tmp:
        work = Path(tmp)
        wheel = download_wheel(work / "wheel")
        staged = work / "cmsis-nn"
        staged.mkdir()
        count = extract(wheel, staged)
        digest, _ = tree_digest(staged)
        if digest != TREE_SHA256:
            raise FetchError(f"the wheel's CMSIS-NN files give tree sha256 {digest}, expected {TREE_SHA256}")
        licence_from = write_licence(staged)
        manifest: dict[str, object] = {
            "name": "CMSIS-NN", "cmsis_nn_version": CMSISNN_VERSION, "upstream": UPSTREAM,
            "upstream_commit": UPSTREAM_COMMIT, "upstream_describe": UPSTREAM_DESCRIBE, "license": LICENSE_ID, "copyright": COPYRIGHT,
            "license_text_from": licence_from, "source_package": f"{PACKAGE}=={PACKAGE_VERSION} (PyPI)",
            "wheel": WHEEL_NAME, "wheel_sha256": WHEEL_SHA256, "wheel_prefix": WHEEL_PREFIX,
            "parts": list(PARTS), "files": count, "tree_sha256": TREE_SHA256,
        }
        (staged / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        if root.exists():
            shutil.rmtree(root)
        os.replace(staged, root)
    return manifest


def ensure(root: Path, allow_download: bool = True) -> tuple[dict[str, object], bool]:
    """The cache's manifest, fetching first when it is missing or wrong; (manifest, downloaded)."""
    try:
        return check(root), False
    except FetchError as exc:
        if not allow_download:
            raise
        if root.exists():
            print(f"fetch_cmsisnn: {exc}; fetching again", file=sys.stderr)
    fetch(root)
    return check(root), True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", type=Path, default=None, help=f"cache directory (default: ${CACHE_ENV} or "
                    f"~/.cache/edgekws/cmsis-nn-{CMSISNN_VERSION})")
    ap.add_argument("--check", action="store_true", help="only check the cache; never download")
    args = ap.parse_args(argv)
    root = (args.dir or default_dir()).expanduser().absolute()
    try:
        manifest, downloaded = ensure(root, allow_download=not args.check)
    except FetchError as exc:
        print(f"error: CMSIS-NN cache: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: CMSIS-NN cache at {root}: {exc}", file=sys.stderr)
        return 1
    what = "fetched" if downloaded else "present"
    print(f"setup: CMSIS-NN {manifest['cmsis_nn_version']} {what} at {root} ({manifest['files']} files, "
          f"{manifest['license']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
