"""Get the official Speech Commands archive onto disk: download (urllib) and unpack (tar.gz).

The archives are flat tarballs (word folders at the top level, no enclosing
directory). Unpacking goes into a temporary folder next to the destination
and is moved into place only when complete, so an interrupted run never
leaves a half-extracted dataset that looks usable. A marker file records the
archive it came from, so a second run with the same archive does nothing.

Extraction uses tarfile's ``data`` filter: absolute paths, ``..``, links out of
the tree and device files in a (malicious or corrupt) archive are refused.
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

from edgekws.data.speech_commands import scan_dataset
from edgekws.errors import DatasetError

SPEECH_COMMANDS_URLS = {
    "v1": "http://download.tensorflow.org/data/speech_commands_v0.01.tar.gz",
    "v2": "http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz",
}
MARKER = ".edgekws_source.json"
_CHUNK = 1 << 16

ProgressFn = Callable[[int, int | None], None]
"""Called as ``progress(bytes_done, bytes_total_or_None)``."""


def download(url: str, dest: str | Path, *, progress: ProgressFn | None = None, timeout: float = 60.0) -> Path:
    """Stream ``url`` to the file ``dest`` (atomic: temp file then rename); returns ``dest``."""
    dest = Path(dest)
    scheme = urllib.parse.urlparse(url).scheme
    if scheme not in ("http", "https"):
        raise DatasetError(f"unsupported URL {url!r} (http or https only)")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as f, urllib.request.urlopen(url, timeout=timeout) as resp:
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            done = 0
            while True:
                chunk = resp.read(_CHUNK)
                if not chunk:
                    break
                f.write(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
            if total is not None and done != total:
                raise DatasetError(f"download of {url} ended after {done} of {total} bytes")
        os.replace(tmp, dest)
    except urllib.error.HTTPError as exc:
        raise DatasetError(f"download of {url} failed: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise DatasetError(f"download of {url} failed: {exc.reason}") from None
    except (OSError, TimeoutError) as exc:
        raise DatasetError(f"download of {url} failed: {exc}") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    return dest


def _dataset_root(extracted: Path) -> Path:
    """The folder holding the word folders (the archive's top level, or its single sub-folder)."""
    entries = [p for p in extracted.iterdir() if not p.name.startswith(".")]
    if len(entries) == 1 and entries[0].is_dir() and not any(
        f.suffix.lower() == ".wav" for f in entries[0].iterdir()
    ):
        return entries[0]
    return extracted


def unpack_archive(
    archive: str | Path, out: str | Path, *, force: bool = False, progress: ProgressFn | None = None
) -> Path:
    """Extract a Speech Commands ``.tar.gz`` into ``out`` and check its layout; returns ``out``.

    ``out`` must not exist or be empty, unless it already holds this very
    archive (then nothing is done) or ``force`` is given (then it is replaced).
    """
    archive = Path(archive)
    out = Path(out)
    if not archive.is_file():
        raise DatasetError(f"archive {archive} does not exist")
    stat = archive.stat()
    source = {"archive": archive.name, "size": stat.st_size}
    marker = out / MARKER
    if marker.is_file() and not force:
        try:
            if json.loads(marker.read_text(encoding="utf-8")) == source:
                return out
        except (OSError, json.JSONDecodeError):
            pass
    if out.exists() and not out.is_dir():
        raise DatasetError(f"output path {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise DatasetError(f"output directory {out} is not empty (use another --out, or --force)")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".unpack", dir=out.parent))
    try:
        try:
            with tarfile.open(archive, "r:*") as tar:
                members = tar.getmembers()
                total = sum(m.size for m in members)
                done = 0
                for m in members:
                    tar.extract(m, staging, filter="data")
                    done += m.size
                    if progress is not None:
                        progress(done, total)
        except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
            raise DatasetError(f"cannot unpack {archive}: {exc}") from None
        root = _dataset_root(staging)
        try:
            scan_dataset(root)
        except DatasetError:
            raise DatasetError(f"{archive} does not contain a Speech Commands layout (word folders of .wav)") from None
        (root / MARKER).write_text(json.dumps(source), encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        os.replace(root, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


def fetch_speech_commands(
    out: str | Path,
    *,
    archive: str | Path | None = None,
    url: str | None = None,
    download_dir: str | Path | None = None,
    force: bool = False,
    progress: ProgressFn | None = None,
) -> Path:
    """Unpack a local archive, or download ``url`` first (into ``download_dir``, default ``out``'s parent).

    ``url`` may also be ``v1`` or ``v2`` for the official TensorFlow archives.
    """
    if (archive is None) == (url is None):
        raise DatasetError("give exactly one of --archive FILE or --url URL")
    if url is not None:
        url = SPEECH_COMMANDS_URLS.get(url, url)
        name = Path(urllib.parse.urlparse(url).path).name or "speech_commands.tar.gz"
        ddir = Path(download_dir) if download_dir is not None else Path(out).resolve().parent
        archive = ddir / name
        if not archive.is_file() or force:
            download(url, archive, progress=progress)
    assert archive is not None
    return unpack_archive(archive, out, force=force, progress=progress)
