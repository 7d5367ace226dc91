"""Real one-shot recordings for the sequence tasks: CC0 samples from the Debian package ``sonic-pi-samples``.

Why: tagging-ctc and sed-ctc run on generated events; issue 15 asks for a real figure beside the
generated one wherever a registry package ships real recordings. ``sonic-pi-samples``
3.2.2~repack-8 (Debian bookworm, ``all``) ships 165 FLAC one-shots and loops; its
``debian/copyright`` lists 130 of them one by one as CC0 (Freesound uploads). Set-up fetches the
.deb with ``apt-get download`` (no root, nothing installed), checks it by sha256 and extracts only
the CC0 one-shots :data:`CLASSES` uses plus the copyright file, into
``~/.cache/edgekws/sonic-pi-samples-3.2.2``; nothing is committed. The 35 files the copyright file
does not list (mehackit, glitch, some perc/loop) are never extracted: their licence is not stated
per file. Loops, guitar, vinyl and misc files are left out because they are not one event each.

The class of a file is decided by its name (:data:`CLASSES`): Sonic Pi's own prefixes are kit
groups (``drum_`` holds kicks, snares, toms and cymbals), so files are grouped by what they
sound like (kick, snare, tom, cymbal, tabla, ambient, bass, electronic blip); the table is the
whole decision and a test reads it.
"""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from edgekws.errors import EdgeKwsError
from edgekws.pinned_cache import MANIFEST as MANIFEST  # re-exported: tests and tools name it here
from edgekws.pinned_cache import PinnedCache, sha256_bytes

PACKAGE = "sonic-pi-samples"
VERSION = "3.2.2~repack-8"
DEB = "sonic-pi-samples_3.2.2~repack-8_all.deb"
DEB_SHA256 = "25f2312d2fae005e6ad0f4726b8ed3084e776006a5a132083506e960224ac79d"
SAMPLES_DIR = "./usr/share/sonic-pi/samples/"
COPYRIGHT_MEMBER = "./usr/share/doc/sonic-pi-samples/copyright"
ENV_DIR = "EDGEKWS_SONIC_PI_DIR"
LICENCE_NOTE = ("Sonic Pi samples (Debian sonic-pi-samples 3.2.2~repack-8): each file used is listed as CC0 "
                "in the package's debian/copyright, from Freesound (uploader and sound URL per file there)")

#: class -> file stems (``<stem>.flac`` in the package). Every stem is listed as CC0 in debian/copyright.
CLASSES: dict[str, tuple[str, ...]] = {
    "kick": ("bd_808", "bd_ada", "bd_boom", "bd_fat", "bd_gas", "bd_haus", "bd_klub", "bd_pure", "bd_sone",
             "bd_tek", "bd_zome", "bd_zum", "drum_bass_hard", "drum_bass_soft", "drum_heavy_kick",
             "elec_hollow_kick", "elec_soft_kick"),
    "snare": ("sn_dolf", "sn_dub", "sn_zome", "drum_snare_hard", "drum_snare_soft", "elec_filt_snare",
              "elec_hi_snare", "elec_lo_snare", "elec_mid_snare", "elec_snare"),
    "cymbal": ("drum_cymbal_closed", "drum_cymbal_hard", "drum_cymbal_open", "drum_cymbal_pedal",
               "drum_cymbal_soft", "drum_splash_hard", "drum_splash_soft", "elec_cymbal"),
    "tom": ("drum_tom_hi_hard", "drum_tom_hi_soft", "drum_tom_lo_hard", "drum_tom_lo_soft", "drum_tom_mid_hard",
            "drum_tom_mid_soft", "elec_fuzz_tom"),
    "tabla": ("tabla_dhec", "tabla_ghe1", "tabla_ghe2", "tabla_ghe3", "tabla_ghe4", "tabla_ghe5", "tabla_ghe6",
              "tabla_ghe7", "tabla_ghe8", "tabla_ke1", "tabla_ke2", "tabla_ke3", "tabla_na", "tabla_na_o",
              "tabla_na_s", "tabla_re", "tabla_tas1", "tabla_tas2", "tabla_tas3", "tabla_te1", "tabla_te2",
              "tabla_te_m", "tabla_te_ne", "tabla_tun1", "tabla_tun2", "tabla_tun3"),
    "ambient": ("ambi_choir", "ambi_dark_woosh", "ambi_drone", "ambi_glass_hum", "ambi_glass_rub",
                "ambi_haunted_hum", "ambi_lunar_land", "ambi_piano", "ambi_soft_buzz", "ambi_swoosh"),
    "bass": ("bass_dnb_f", "bass_drop_c", "bass_hard_c", "bass_hit_c", "bass_thick_c", "bass_trance_c",
             "bass_voxy_c", "bass_voxy_hit_c", "bass_woodsy_c"),
    "electronic": ("elec_beep", "elec_bell", "elec_blip", "elec_blip2", "elec_blup", "elec_bong", "elec_chime",
                   "elec_flip", "elec_ping", "elec_plip", "elec_pop", "elec_tick", "elec_triangle", "elec_twang",
                   "elec_twip", "elec_wood"),
}

#: sha256 over the sorted ``name sha256`` lines of every extracted file: pins all 103 files in one value.
FILES_DIGEST = "dd2c3c8f53acd78242b8f7790b85f8b72da3139c98a1960e49684e639856fe93"


class SonicPiCacheError(EdgeKwsError):
    """The cached samples are missing, corrupted or cannot be fetched."""


@dataclass(frozen=True)
class SonicPiFiles:
    """The verified cache: ``files`` maps class -> FLAC paths."""

    directory: Path
    files: dict[str, tuple[Path, ...]]


CACHE = PinnedCache(what="the Sonic Pi samples are", file_label="", env_dir=ENV_DIR, folder="sonic-pi-samples-3.2.2",
                    fetch_command="python tools/fetch_sonic_pi.py", error=SonicPiCacheError)


def default_dir() -> Path:
    """``$EDGEKWS_SONIC_PI_DIR`` or ``~/.cache/edgekws/sonic-pi-samples-3.2.2``."""
    return CACHE.directory()


def files_digest(shas: dict[str, str]) -> str:
    """The one value that pins every extracted file (see :data:`FILES_DIGEST`)."""
    return sha256_bytes("".join(f"{name} {sha}\n" for name, sha in sorted(shas.items())).encode())


def wanted() -> list[str]:
    """Every file name to extract, sorted."""
    return sorted(f"{stem}.flac" for stems in CLASSES.values() for stem in stems)


def verify(directory: str | Path | None = None) -> SonicPiFiles:
    """Check every cached file against the manifest and the manifest against :data:`FILES_DIGEST`."""
    d = CACHE.directory(directory)
    CACHE.require_manifest(d)
    try:
        recorded = json.loads((d / MANIFEST).read_text())["files"]
        pins = {name: str(recorded.get(name, "")) for name in wanted()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SonicPiCacheError(f"{d / MANIFEST}: unreadable ({exc}); rerun python tools/fetch_sonic_pi.py --force") \
            from None
    if files_digest(CACHE.check_files(d, pins)) != FILES_DIGEST:
        raise SonicPiCacheError(f"{d}: the files' digest differs from the pinned one; rerun "
                                "python tools/fetch_sonic_pi.py --force")
    return SonicPiFiles(d, {c: tuple(d / f"{s}.flac" for s in stems) for c, stems in CLASSES.items()})


def is_installed(directory: str | Path | None = None) -> bool:
    """True when :func:`verify` passes (tests use it to skip, saying why)."""
    return CACHE.is_installed(verify, directory)


def _download_deb(dest: Path) -> Path:
    """``apt-get download`` of the pinned version into ``dest`` (needs the Debian archive in apt's lists)."""
    try:
        proc = subprocess.run(["apt-get", "download", f"{PACKAGE}={VERSION}"], cwd=dest, capture_output=True,
                              text=True)
    except FileNotFoundError:
        raise SonicPiCacheError("apt-get not found: download "
                                f"{DEB} by hand and pass it with --wheel PATH") from None
    deb = dest / DEB
    if proc.returncode != 0 or not deb.is_file():
        last = ([ln for ln in proc.stderr.strip().splitlines() if not ln.startswith("W:")] or ["no output"])[-1]
        raise SonicPiCacheError(f"apt-get download {PACKAGE}={VERSION} failed: {last}")
    return deb


def _data_tar(deb: bytes) -> bytes:
    """The ``data.tar.xz`` member of a .deb (an ``ar`` archive: 8-byte magic, 60-byte member headers)."""
    if deb[:8] != b"!<arch>\n":
        raise SonicPiCacheError(f"{DEB}: not an ar archive")
    pos = 8
    while pos + 60 <= len(deb):
        name = deb[pos: pos + 16].decode("ascii", "replace").strip().rstrip("/")
        size = int(deb[pos + 48: pos + 58].decode("ascii").strip())
        if name == "data.tar.xz":
            return deb[pos + 60: pos + 60 + size]
        pos += 60 + size + (size & 1)  # members are padded to an even offset
    raise SonicPiCacheError(f"{DEB}: no data.tar.xz member")


def cc0_listed(copyright_text: bytes, name: str) -> bool:
    """True when the Debian copyright file has a ``Files:`` paragraph naming ``etc/samples/<name>`` with
    ``License: CC0`` (files covered only by the package-wide ``Files: *`` paragraph are not)."""
    block = copyright_text.split(f"etc/samples/{name}\n".encode(), 1)
    return len(block) == 2 and b"License: CC0" in block[1].split(b"\n\n", 1)[0]


def install_from_deb(deb_path: Path, directory: Path) -> dict:
    """Check the .deb by sha256, extract only the wanted FLACs and the copyright file, write the manifest."""
    data = CACHE.check_archive(deb_path, DEB_SHA256)
    want = set(wanted())
    blobs: dict[str, bytes] = {}
    copyright_text = b""
    with tarfile.open(fileobj=io.BytesIO(_data_tar(data)), mode="r:xz") as tf:
        for member in tf:
            if not member.isfile():
                continue
            base = member.name[len(SAMPLES_DIR):] if member.name.startswith(SAMPLES_DIR) else None
            if member.name == COPYRIGHT_MEMBER:
                copyright_text = tf.extractfile(member).read()  # type: ignore[union-attr]
            elif base in want:
                blobs[base] = tf.extractfile(member).read()  # type: ignore[union-attr]
    missing = sorted(want - set(blobs))
    if missing or not copyright_text:
        raise SonicPiCacheError(f"{DEB}: missing {', '.join(missing) or 'debian copyright file'}")
    for name in want:  # each file must be one the copyright file lists as CC0
        if not cc0_listed(copyright_text, name):
            raise SonicPiCacheError(f"{DEB}: debian/copyright does not list {name} as CC0 (refusing it)")
    shas = {name: sha256_bytes(b) for name, b in blobs.items()}
    if files_digest(shas) != FILES_DIGEST:
        raise SonicPiCacheError(f"{DEB}: the extracted files' digest differs from the pinned one")
    manifest = {"package": PACKAGE, "version": VERSION, "deb": DEB, "deb_sha256": DEB_SHA256,
                "license": "CC0-1.0 (each file, per debian/copyright)", "license_note": LICENCE_NOTE,
                "files_digest": FILES_DIGEST, "classes": {c: list(s) for c, s in CLASSES.items()}, "files": shas}
    # the per-file credits (debian/copyright) travel with the copy
    return CACHE.write(directory, {**blobs, "copyright": copyright_text}, manifest)


def fetch(directory: str | Path | None = None, *, force: bool = False, wheel: Path | None = None) -> tuple[Path, str]:
    """Make sure the verified samples are in ``directory``; ``wheel`` is an already-downloaded .deb.

    Idempotent: a verified cache is left alone; a corrupted one is an error unless ``force``.
    """
    return CACHE.fetch(directory, force=force, local=wheel, verify=verify, install=install_from_deb,
                       download=_download_deb)
