"""``edgekws evaluate``: a bundle's int8 model on every clip of a dataset, on the host or on a device.

Why this exists: a bundle's report.json measures the model on the test split of
the data it was trained on (synthetic voices), which says nothing about real
people. This runs the *deployed* pipeline on any Speech Commands-layout folder
(the official test-set archive, a user's own recordings, the dev set):

1. clips: :func:`edgekws.data.speech_commands.list_clips`, every clip of the split,
   labelled by its folder, nothing balanced or synthesised; each clip must have
   the bundle frontend's sample rate (a resampled clip is not what a microphone at
   that rate would give, so it is refused rather than silently converted);
2. features: the bundle's own FrontendConfig through
   :func:`edgekws.data.features.compute_split_features` (what training and the
   bundle's test split use), then the bundle's ``input_norm`` and input
   quantization with :func:`edgekws.frontend.device.quantize_features` (the very
   operations of training's normalisation + ``quantize_input`` and of the device);
3. host: TFLite Micro (:mod:`edgekws.tflm`), the bit-exact reference of the firmware;
4. device (``--emulate`` / ``--port``): the bench's audio mode
   (:func:`edgekws.bench.run_bench` with these clips as its items): raw int16
   audio to the device, whose own frontend extracts the features; its decisions
   are scored the same way and compared with the host's.

The figures (:func:`edgekws.evaluate.scores.score`) merge into the bundle's
report.json under ``evaluations[NAME]``, next to what is there.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgekws.bench.report import read_report, write_report
from edgekws.data.speech_commands import (
    ALL_SPLITS,
    SILENCE_LABEL,
    UNKNOWN_LABEL,
    DatasetConfig,
    Example,
    list_clips,
    normalize_split,
    scan_dataset,
    split_rule,
)
from edgekws.errors import BundleError, ConfigError, DatasetError
from edgekws.evaluate.scores import score

#: The figures' layout in report.json; bump when a key changes meaning.
EVAL_SCHEMA = 1
HOST_RUNTIME = "tflite-micro"


@dataclass(frozen=True)
class EvalConfig:
    """What to evaluate, where, and where the figures go (the CLI fills it from flags).

    split: ``test`` / ``validation`` / ``training`` (aliases as for the loader) or ``all``.
    name: key under ``evaluations`` (default: the data folder's name, plus ``-SPLIT`` unless test,
    plus ``-subsetN`` with ``limit``).
    limit: evaluate an evenly spaced subset of this many clips (quick checks; recorded in the figures).
    out: report.json to merge into (default the bundle's); ``merge=False`` writes nothing.
    emulate / port: also run the clips through a device (QEMU, or a board / socket URL).
    jsonl: the device run's per-clip results (default: a temporary file).
    """

    bundle: Path
    data: Path
    split: str = "test"
    name: str | None = None
    limit: int | None = None
    out: Path | None = None
    merge: bool = True
    emulate: bool = False
    port: str | None = None
    baud: int = 115200
    board: str = "mps2_an500"
    build_dir: Path | None = None
    timeout: float = 5.0
    retries: int = 3
    jsonl: Path | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        if self.split != ALL_SPLITS:
            normalize_split(self.split)  # raises DatasetError on an unknown split
        if self.port is not None and self.emulate:
            raise ConfigError("--port and --emulate exclude each other")
        if self.limit is not None and self.limit < 1:
            raise ConfigError("--limit must be at least 1")
        if self.name is not None and (not self.name.strip() or "/" in self.name):
            raise ConfigError(f"--name must be a non-empty name without '/', got {self.name!r}")

    @property
    def on_device(self) -> bool:
        return self.emulate or self.port is not None

    @property
    def split_name(self) -> str:
        """Canonical split (``testing`` ...) or ``all``."""
        return ALL_SPLITS if self.split == ALL_SPLITS else normalize_split(self.split)

    def dataset_name(self) -> str:
        """The key under ``evaluations``."""
        if self.name:
            return self.name
        base = Path(os.path.abspath(self.data)).name or "dataset"
        name = base if self.split_name == "testing" else f"{base}-{self.split_name}"
        # a subset never overwrites the figures of the whole set under the same key
        return name if self.limit is None else f"{name}-subset{self.limit}"


@dataclass
class EvalClips:
    """The evaluated clips: their examples, labels, float audio ``[N, samples]`` and a description."""

    examples: list[Example]
    y: np.ndarray
    audio: np.ndarray
    info: dict[str, Any]


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def bundle_task(meta: dict[str, Any], where: Path) -> tuple[Any, list[str], int]:
    """(FrontendConfig, labels, clip samples) of a bundle, checked against its model input.

    The clip length is the one that gives exactly the model's input frames, so every
    clip is cut or padded to what the model saw in training.
    """
    from edgekws.frontend import FrontendConfig

    labels = list(meta["labels"])
    if labels[:2] != [SILENCE_LABEL, UNKNOWN_LABEL] or len(labels) < 3:
        raise BundleError(f"bundle {where}: labels must start with {SILENCE_LABEL}, {UNKNOWN_LABEL} and name "
                          f"at least one keyword to be evaluated on a Speech Commands layout, got {labels}")
    try:
        fe = FrontendConfig.from_dict(meta["frontend"])
    except (ConfigError, TypeError, KeyError) as exc:
        raise BundleError(f"bundle {where}: its frontend config is not usable ({exc})") from None
    shape = [int(v) for v in meta["input"]["shape"]]
    if len(shape) < 3:
        raise BundleError(f"bundle {where}: model input shape {shape} is not [1, frames, feats, 1]")
    frames, feats = shape[1], shape[2]
    if fe.num_features != feats:
        raise BundleError(f"bundle {where}: the model takes {feats} features per frame, its frontend gives "
                          f"{fe.num_features}")
    samples = (frames - 1) * fe.hop_length + fe.win_length
    if fe.num_frames(samples) != frames:
        raise BundleError(f"bundle {where}: no clip length gives the model's {frames} frames")
    if len(meta["input_norm"]["mean"]) != feats:
        raise BundleError(f"bundle {where}: input_norm has {len(meta['input_norm']['mean'])} features, model {feats}")
    return fe, labels, samples


def _fingerprint(root: Path, examples: list[Example]) -> str:
    """sha256 over the clips' relative paths and sizes: the same clips give the same figure's identity."""
    h = hashlib.sha256()
    for e in examples:
        assert e.path is not None
        h.update(f"{e.path}\0{(root / e.path).stat().st_size}\n".encode())
    return h.hexdigest()


def _subset(n: int, limit: int | None) -> np.ndarray:
    """Indices of an evenly spaced subset (every folder stays represented in a sorted list)."""
    if limit is None or limit >= n:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(np.int64))


def load_clips(data: Path, split: str, labels: list[str], sample_rate: int, samples: int,
               limit: int | None = None, progress: Callable[[int, int], None] | None = None) -> EvalClips:
    """Every clip of ``split`` (``all`` for every file) as float32 audio cut/padded to ``samples``.

    Raises DatasetError (one line) for a missing or clip-less folder, an empty split,
    or a clip whose sample rate is not ``sample_rate``.
    """
    import soundfile as sf

    from edgekws.audio import load_audio
    from edgekws.data.augment import fit_length
    from edgekws.errors import AudioError

    data = Path(data)
    cfg = DatasetConfig(wanted_words=tuple(labels[2:]), sample_rate=sample_rate)
    index = scan_dataset(data)
    examples = list_clips(index, split, cfg)
    examples = [examples[i] for i in _subset(len(examples), limit)]
    audio = np.zeros((len(examples), samples), np.float32)
    for i, e in enumerate(examples):
        assert e.path is not None
        path = data / e.path
        try:
            rate = sf.info(str(path)).samplerate
        except (RuntimeError, OSError, ValueError, TypeError, EOFError):
            rate = None  # unreadable: load_audio below names the problem
        if rate is not None and rate != sample_rate:
            raise DatasetError(f"{path}: {rate} Hz audio; the model's frontend takes {sample_rate} Hz clips "
                               "(resample the dataset first)")
        try:
            audio[i] = fit_length(load_audio(path, sample_rate=sample_rate), samples)
        except AudioError as exc:
            raise DatasetError(str(exc)) from None
        if progress is not None and (i + 1 == len(examples) or (i + 1) % 64 == 0):
            progress(i + 1, len(examples))
    y = np.array([e.label for e in examples], np.int64)
    counts = {name: int((y == k).sum()) for k, name in enumerate(labels)}
    info = {
        "root": str(data),
        "split": split if split == ALL_SPLITS else normalize_split(split),
        "split_rule": split_rule(index, cfg),
        "clips": len(examples),
        "counts": counts,
        "limit": limit,
        "fingerprint": _fingerprint(data, examples),
    }
    return EvalClips(examples, y, audio, info)


def host_inputs(meta: dict[str, Any], frontend: Any, audio: np.ndarray) -> np.ndarray:
    """int8 model inputs ``[N, frames, feats]`` of float audio: bundle frontend, input_norm, quantization."""
    from edgekws.data.features import compute_split_features

    return bundle_int8_inputs(meta, compute_split_features(audio, frontend))


def bundle_int8_inputs(meta: dict[str, Any], feats: np.ndarray) -> np.ndarray:
    """int8 model inputs of raw features ``[N, frames, feats]``: the bundle's input_norm and quantization."""
    from edgekws.frontend.device import quantize_features

    norm = meta["input_norm"]
    return quantize_features(feats, np.asarray(norm["mean"], np.float32), np.asarray(norm["std"], np.float32),
                             float(meta["input"]["scale"]), int(meta["input"]["zero_point"]))


def tflm_predictions(tflite: Path, x_int8: np.ndarray) -> np.ndarray:
    """argmax of TFLite Micro's int8 output for every input."""
    from edgekws.tflm import TflmModel

    if len(x_int8) == 0:
        return np.zeros(0, np.int64)
    out = TflmModel(tflite).run_batch(list(x_int8))
    return np.argmax(out.reshape(len(x_int8), -1), axis=-1).astype(np.int64)


def device_figures(cfg: EvalConfig, bundle: Any, clips: EvalClips, x_int8: np.ndarray, host_pred: np.ndarray,
                   note: Callable[[str], None]) -> tuple[str, dict[str, Any]]:
    """(board, figures) of the clips run through a device by the bench's audio mode."""
    from edgekws.audio import float_to_pcm16
    from edgekws.bench import BenchConfig, run_bench
    from edgekws.bench.inputs import BenchData
    from edgekws.bench.log import read_jsonl

    data = BenchData(name=bundle.name, bundle_hash=bundle.bundle_hash, labels=bundle.labels,
                     tflite_path=bundle.tflite_path, report_path=bundle.path / "report.json",
                     x_int8=x_int8.reshape(len(x_int8), -1), y=clips.y, audio=float_to_pcm16(clips.audio))
    with tempfile.TemporaryDirectory(prefix="edgekws-evaluate-") as tmp:
        jsonl = cfg.jsonl or Path(tmp) / "audio.jsonl"
        bcfg = BenchConfig(bundle=Path(cfg.bundle), mode="audio", port=cfg.port, baud=cfg.baud, jsonl=jsonl,
                           emulate=cfg.emulate, board=cfg.board, build_dir=cfg.build_dir, timeout=cfg.timeout,
                           retries=cfg.retries, progress=cfg.progress)
        figures = run_bench(bcfg, note, data=data)
        records = {int(r["index"]): r for r in read_jsonl(jsonl) if r.get("kind") == "audio"}
    missing = [i for i in range(len(clips.y)) if i not in records]
    if missing:
        raise DatasetError(f"the device run has no result for {len(missing)} clip(s) (first: {missing[0]})")
    pred = np.array([int(records[i]["pred"]) for i in range(len(clips.y))], np.int64)
    same_out = np.array([bool(records[i]["match_host_int8"]) for i in range(len(clips.y))])
    audio = figures.get("audio", {})
    out = {
        **score(clips.y, pred, bundle.labels),
        "runtime": "device (device frontend from int16 audio)",
        "decision_agreement_with_host": float((pred == host_pred).mean()) if len(pred) else 0.0,
        "decisions_differing_from_host": int((pred != host_pred).sum()),
        "output_equal_to_host_int8": float(same_out.mean()) if len(same_out) else 0.0,
        "frontend": audio.get("frontend"),
        "inference": audio.get("inference"),
        "unit": audio.get("unit"),
        "board": figures.get("board"),
        "firmware": figures.get("firmware"),
        "updated": _now(),
    }
    return str(figures.get("board") or cfg.board), out


def merge_evaluation(report_path: Path, name: str, entry: dict[str, Any]) -> Path:
    """report[evaluations][name] = entry, keeping every other key; written atomically.

    Device figures already there for *the same clips and model* are kept beside a new host
    run (and a device run adds or replaces its own board only), so a host rerun does not
    throw away an emulator measurement.
    """
    report = read_report(report_path)
    evals = report.setdefault("evaluations", {})
    old = evals.get(name) if isinstance(evals.get(name), dict) else {}
    new = dict(entry)
    same = (old.get("bundle_hash") == new.get("bundle_hash")
            and (old.get("dataset") or {}).get("fingerprint") == (new.get("dataset") or {}).get("fingerprint"))
    if same and isinstance(old.get("device"), dict):
        new["device"] = {**old["device"], **(new.get("device") or {})}
    evals[name] = new
    write_report(report_path, report)
    return report_path


def evaluate_bundle(cfg: EvalConfig, note: Callable[[str], None] = print,
                    progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Evaluate ``cfg.bundle`` on ``cfg.data``; returns the entry (also merged into report.json unless told not).

    The entry holds the host (TFLite Micro) figures at its top level and, after a device
    run, the device's under ``device[board]``.
    """
    from edgekws.export.bundle import load_bundle

    b = load_bundle(cfg.bundle)
    fe, labels, samples = bundle_task(b.meta, b.path)
    clips = load_clips(Path(cfg.data), cfg.split_name, labels, fe.sample_rate, samples, cfg.limit, progress)
    x_int8 = host_inputs(b.meta, fe, clips.audio)
    pred = tflm_predictions(b.tflite_path, x_int8)
    entry: dict[str, Any] = {
        "schema_version": EVAL_SCHEMA,
        "name": cfg.dataset_name(),
        "dataset": clips.info,
        "runtime": HOST_RUNTIME,
        "bundle_hash": b.bundle_hash,
        "frontend_hash": fe.hash(),
        **score(clips.y, pred, labels),
        "updated": _now(),
    }
    if cfg.on_device:
        board, dev = device_figures(cfg, b, clips, x_int8, pred, note)
        entry["device"] = {board: dev}
    if cfg.merge:
        out = Path(cfg.out) if cfg.out is not None else b.path / "report.json"
        merge_evaluation(out, entry["name"], entry)
        entry["_merged_into"] = str(out)
    return entry
