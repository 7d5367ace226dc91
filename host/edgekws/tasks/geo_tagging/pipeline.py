"""Train and evaluate the geo-tagging methods: split, features, fit, fuse, score.

The run directory holds what evaluation needs without retraining: ``splits.json``
(events and the clip ids of every split), ``frontend.json`` (the FrontendConfig),
``norm.json`` (per-band mean/std of the training clips), ``models/<method>.weights.h5``,
``models/decision-fusion.json`` (the per-event fusion weights) and ``train.json``
(histories, parameter counts, seconds per method).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgekws.errors import DatasetError
from edgekws.frontend import FrontendConfig, compute_features
from edgekws.tasks.base import ProgressFn, no_progress
from edgekws.tasks.configs import from_dict
from edgekws.tasks.geo_tagging import dataset as ds
from edgekws.tasks.geo_tagging import metrics as m
from edgekws.tasks.geo_tagging import models
from edgekws.tasks.geo_tagging.config import CONTEXT_CATEGORIES, TrainConfig
from edgekws.tasks.geo_tagging.synth import TRUTH, confusable_pairs
from edgekws.tasks.runner import RUN_INFO, read_json, write_json
from edgekws.tasks.tagging_ctc.config import task_frontend

SPLITS_FILE = "splits.json"
FRONTEND = "frontend.json"
NORM = "norm.json"
TRAIN = "train.json"
DECISION = "decision-fusion.json"


def split_clips(index: ds.GeoIndex, cfg: TrainConfig) -> dict[str, list[ds.GeoClip]]:
    """train/val/test clips: the metadata's ``val`` rows, or a seeded ``val_fraction`` of its train rows."""
    train, val = index.split("train"), index.split("val")
    if not val:
        order = np.random.default_rng(cfg.seed).permutation(len(train))
        n_val = max(1, int(round(cfg.val_fraction * len(train))))
        if len(train) - n_val < 1:
            raise DatasetError(f"{index.root}: {len(train)} training clip(s), too few to hold out validation")
        val = [train[i] for i in sorted(order[:n_val])]
        train = [train[i] for i in sorted(order[n_val:])]
    return {"train": train, "val": val, "test": index.split("test")}


def features(index: ds.GeoIndex, clips: list[ds.GeoClip], frontend: FrontendConfig, cfg: TrainConfig,
             split: str, progress: ProgressFn) -> np.ndarray:
    """Log-mel ``[N, frames, bands]`` of one split's clips (the one frontend, no second one)."""
    audio = ds.load_clips(index, clips, frontend.sample_rate, cfg.clip_seconds, progress, f"loading {split}")
    return np.concatenate([compute_features(audio[i: i + 64], frontend) for i in range(0, len(audio), 64)]
                          ).astype(np.float32)


def _normalise(x: np.ndarray, norm: dict[str, list[float]]) -> np.ndarray:
    return ((x - np.asarray(norm["mean"], np.float32)) / np.asarray(norm["std"], np.float32))[..., None]


def _keras_methods(methods: tuple[str, ...] | list[str]) -> list[str]:
    return [mt for mt in methods if mt in models.KERAS_METHODS]


def train(data: Path, run: Path, cfg: TrainConfig, progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Train every method of ``cfg`` on ``data`` (the metadata layout) into ``run``."""
    from edgekws.tasks.fit import fit

    frontend = task_frontend()
    index = ds.read_metadata(data)
    splits = split_clips(index, cfg)
    write_json(run / FRONTEND, frontend.to_dict())
    write_json(run / SPLITS_FILE, {"events": list(index.events),
                                   "splits": {s: [c.clip_id for c in cs] for s, cs in splits.items()}})
    x_tr = features(index, splits["train"], frontend, cfg, "train", progress)
    x_va = features(index, splits["val"], frontend, cfg, "val", progress)
    norm = {"mean": x_tr.mean(axis=(0, 1)).tolist(), "std": np.maximum(x_tr.std(axis=(0, 1)), 1e-3).tolist()}
    write_json(run / NORM, norm)
    x_tr, x_va = _normalise(x_tr, norm), _normalise(x_va, norm)
    c_tr, c_va = ds.contexts_of(splits["train"]), ds.contexts_of(splits["val"])
    y_tr, y_va = ds.labels_of(splits["train"]), ds.labels_of(splits["val"])
    (run / "models").mkdir(exist_ok=True)
    results: dict[str, Any] = {}
    val_probs: dict[str, np.ndarray] = {}
    for method in _keras_methods(cfg.methods):
        t0 = time.time()
        model = models.build(method, x_tr.shape[1], x_tr.shape[2], len(CONTEXT_CATEGORIES), len(index.events),
                             cfg.model)
        models.compile_model(model, cfg.learning_rate)
        history = fit(model, models.inputs_for(method, x_tr, c_tr), y_tr, models.inputs_for(method, x_va, c_va),
                      y_va, epochs=cfg.epochs, batch_size=cfg.batch_size, seed=cfg.seed, title=f"train {method}",
                      progress=progress)
        model.save_weights(str(run / "models" / f"{method}.weights.h5"))
        val_probs[method] = model.predict(models.inputs_for(method, x_va, c_va), batch_size=128, verbose=0)
        results[method] = {"params": models.count_params(model), "seconds": round(time.time() - t0, 1),
                           "history": history}
    if "decision-fusion" in cfg.methods:
        weights = models.fit_decision(val_probs["audio-only"], val_probs["context-only"], y_va, cfg.seed)
        write_json(run / "models" / DECISION, {"events": list(index.events), "weights": weights.tolist()})
        results["decision-fusion"] = {"params": int(weights.size), "seconds": 0.0, "history": {},
                                      "weights": {e: [round(float(v), 4) for v in w]
                                                  for e, w in zip(index.events, weights, strict=True)}}
    summary = {"events": list(index.events), "frames": int(x_tr.shape[1]), "bands": int(x_tr.shape[2]),
               "clips": {s: len(cs) for s, cs in splits.items()}, "methods": results}
    write_json(run / TRAIN, summary)
    return summary


@dataclass(frozen=True)
class TestSplit:
    """A run's test clips with their normalised features, context vectors and truth."""

    data: Path
    events: tuple[str, ...]
    clips: list[ds.GeoClip]
    x: np.ndarray  # [N, frames, bands, 1]
    context: np.ndarray  # [N, 11]
    truth: np.ndarray  # [N, K]
    trained: dict[str, Any]


def load_test_split(run: Path, data: Path | None, cfg: TrainConfig, progress: ProgressFn = no_progress) -> TestSplit:
    """The run's test clips from ``data`` (default: the folder it trained on), checked against the run."""
    info = read_json(run / RUN_INFO, "run info")
    data = Path(data) if data is not None else Path(info["data"])
    frontend = FrontendConfig.from_dict(read_json(run / FRONTEND, "frontend config"))
    stored = read_json(run / SPLITS_FILE, "clip splits")
    norm = read_json(run / NORM, "feature normalisation")
    trained = read_json(run / TRAIN, "training summary")
    index = ds.read_metadata(data)
    if list(index.events) != stored["events"]:
        raise DatasetError(f"{data}: events {list(index.events)} differ from the run's {stored['events']}")
    clips = index.split("test")
    if [c.clip_id for c in clips] != stored["splits"]["test"]:
        raise DatasetError(f"{data}: its test clips differ from the {len(stored['splits']['test'])} the run "
                           "recorded (a different dataset folder?)")
    x = _normalise(features(index, clips, frontend, cfg, "test", progress), norm)
    return TestSplit(data, index.events, clips, x, ds.contexts_of(clips), ds.labels_of(clips), trained)


def load_model(run: Path, method: str, split: TestSplit, cfg: TrainConfig) -> Any:
    model = models.build(method, split.x.shape[1], split.x.shape[2], len(CONTEXT_CATEGORIES), len(split.events),
                         cfg.model)
    weights = run / "models" / f"{method}.weights.h5"
    if not weights.is_file():
        raise DatasetError(f"{weights}: missing (rerun train)")
    model.load_weights(str(weights))
    return model


def predict(run: Path, split: TestSplit, cfg: TrainConfig) -> dict[str, np.ndarray]:
    """Test-clip tag probabilities ``[N, K]`` of every trained method."""
    out = {}
    for method in _keras_methods(list(split.trained["methods"])):
        model = load_model(run, method, split, cfg)
        out[method] = model.predict(models.inputs_for(method, split.x, split.context), batch_size=128, verbose=0)
    if "decision-fusion" in split.trained["methods"]:
        weights = np.asarray(read_json(run / "models" / DECISION, "decision-fusion weights")["weights"])
        out["decision-fusion"] = models.apply_decision(weights, out["audio-only"], out["context-only"])
    return out


def _num(v: float) -> float | None:
    """JSON has no NaN: an undefined AP (an event absent from the test clips) is null."""
    return None if np.isnan(v) else float(v)


def _subset_map(per: list[float], idx: list[int]) -> float | None:
    vals = [per[i] for i in idx if not np.isnan(per[i])]
    return float(np.mean(vals)) if vals else None


def evaluate(run: Path, data: Path | None = None, progress: ProgressFn = no_progress) -> dict[str, Any]:
    """mAP (+ bootstrap 95 % interval), per-event AP, mAP over the confusable pairs and over the other events,
    and each method's paired mAP difference to audio-only."""
    info = read_json(run / RUN_INFO, "run info")
    cfg = from_dict(TrainConfig, info["config"])
    split = load_test_split(run, data, cfg, progress)
    probs = predict(run, split, cfg)
    events = list(split.events)
    pairs = [p for p in confusable_pairs() if p[0] in events and p[1] in events]
    pair_idx = sorted({events.index(e) for p in pairs for e in p})
    other_idx = [i for i in range(len(events)) if i not in pair_idx]
    out: dict[str, Any] = {"data": str(split.data), "generated": (split.data / TRUTH).is_file(), "events": events,
                           "n_test": len(split.clips), "positives": {e: int(n) for e, n in
                                                                     zip(events, split.truth.sum(0), strict=True)},
                           "confusable_pairs": [list(p) for p in pairs], "methods": {}}
    for method, p in probs.items():
        per = m.class_ap(split.truth, p)
        lo, hi = m.bootstrap_map(split.truth, p, n_boot=cfg.n_boot, seed=cfg.seed)
        res: dict[str, Any] = {"map": _num(m.mean_ap(split.truth, p)), "map_ci": [_num(lo), _num(hi)],
                               "per_event_ap": {e: _num(a) for e, a in zip(events, per, strict=True)},
                               "pairs_map": _subset_map(per, pair_idx) if pairs else None,
                               "others_map": _subset_map(per, other_idx) if pairs else None,
                               "pairs_map_ci": [_num(v) for v in m.bootstrap_map(
                                   split.truth, p, n_boot=cfg.n_boot, seed=cfg.seed, columns=pair_idx)]
                               if pairs else None,
                               "params": split.trained["methods"][method]["params"]}
        if method != "audio-only" and "audio-only" in probs:
            d, dlo, dhi = m.bootstrap_map_difference(split.truth, p, probs["audio-only"], n_boot=cfg.n_boot,
                                                     seed=cfg.seed)
            res["vs_audio_only"] = [_num(d), _num(dlo), _num(dhi)]
        out["methods"][method] = res
        progress("evaluating", len(out["methods"]), len(probs))
    return out
