"""Train and evaluate the tagging-ctc variants: compose the splits, compute features, fit, score.

The run directory holds everything evaluation needs to rebuild the exact test
clips and models without retraining: ``composition.json`` (classes, every clip's
event placements and noise seed), ``frontend.json`` (the FrontendConfig),
``norm.json`` (per-band mean/std of the training clips), ``models/<variant>.weights.h5``
and ``train.json`` (histories, parameter counts, seconds per variant).
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
from edgekws.tasks.runner import RUN_INFO, read_json, write_json
from edgekws.tasks.tagging_ctc import dataset as ds
from edgekws.tasks.tagging_ctc import metrics as m
from edgekws.tasks.tagging_ctc import models, real
from edgekws.tasks.tagging_ctc.config import VARIANTS, TrainConfig, task_frontend

COMPOSITION = "composition.json"
FRONTEND = "frontend.json"
NORM = "norm.json"
TRAIN = "train.json"
SPLIT_SEED = {"train": 0, "val": 1, "test": 2}


def _noise_seed(cfg: TrainConfig, split: str, i: int) -> list[int]:
    return [cfg.compose.seed, SPLIT_SEED[split], i]


def clip_features(clips: list[list[ds.Placement]], events: dict[str, np.ndarray], cfg: TrainConfig,
                  frontend: FrontendConfig, split: str, progress: ProgressFn) -> np.ndarray:
    """Log-mel features ``[N, frames, bands]`` of the composed clips of one split."""
    feats = []
    chunk = 32
    for start in range(0, len(clips), chunk):
        audio = np.stack([ds.render(c, events, cfg.compose, frontend.sample_rate, _noise_seed(cfg, split, start + j))
                          for j, c in enumerate(clips[start: start + chunk])])
        feats.append(compute_features(audio, frontend))
        progress(f"features ({split})", min(start + chunk, len(clips)), len(clips))
    return np.concatenate(feats).astype(np.float32)


def _sequences(clips: list[list[ds.Placement]]) -> list[list[int]]:
    return [[p.label for p in c] for c in clips]


def _num(v: float) -> float | None:
    """JSON has no NaN: an undefined AUC (a class absent from the test clips) is null."""
    return None if np.isnan(v) else float(v)


def _normalise(x: np.ndarray, norm: dict[str, list[float]]) -> np.ndarray:
    return ((x - np.asarray(norm["mean"], np.float32)) / np.asarray(norm["std"], np.float32))[..., None]


def _targets(head: str, seqs: list[list[int]], n_classes: int, max_len: int) -> np.ndarray:
    return models.ctc_targets(seqs, max_len) if head == "ctc" else m.multi_hot(seqs, n_classes)


def train(data: Path, run: Path, cfg: TrainConfig, progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Compose train/val/test clips from ``data`` (FSDKaggle2018 layout), train every variant into ``run``."""
    frontend = task_frontend()
    index = ds.index_dataset(data, cfg.compose)
    needed = [f for f in index.files if f.split in ("train", "val")]
    events = ds.load_events(index, needed + index.split("test"), frontend.sample_rate, cfg.compose.max_event_s,
                            progress)
    sizes = {"train": cfg.compose.n_train, "val": cfg.compose.n_val, "test": cfg.compose.n_test}
    comp = {split: ds.compose(index.split(split), events, index.classes, sizes[split], cfg.compose,
                              frontend.sample_rate, seed=cfg.compose.seed * 10 + SPLIT_SEED[split])
            for split in ds.SPLITS}
    write_json(run / FRONTEND, frontend.to_dict())
    write_json(run / COMPOSITION, {"classes": list(index.classes), "test_from": index.test_from,
                                   "splits": {s: ds.placements_to_json(c) for s, c in comp.items()}})
    x_tr = clip_features(comp["train"], events, cfg, frontend, "train", progress)
    x_va = clip_features(comp["val"], events, cfg, frontend, "val", progress)
    norm = {"mean": x_tr.mean(axis=(0, 1)).tolist(), "std": np.maximum(x_tr.std(axis=(0, 1)), 1e-3).tolist()}
    write_json(run / NORM, norm)
    x_tr, x_va = _normalise(x_tr, norm), _normalise(x_va, norm)
    k = len(index.classes)
    seq_tr, seq_va = _sequences(comp["train"]), _sequences(comp["val"])
    results: dict[str, Any] = {}
    from edgekws.tasks.fit import fit

    for variant in cfg.variants:
        glu, head = VARIANTS[variant]
        t0 = time.time()
        model = models.build_crnn(x_tr.shape[1], x_tr.shape[2], k, head, glu, cfg.model, name=variant.replace("-", "_"))
        models.compile_model(model, head, cfg.learning_rate)
        history = fit(model, x_tr, _targets(head, seq_tr, k, cfg.compose.max_events), x_va,
                      _targets(head, seq_va, k, cfg.compose.max_events), epochs=cfg.epochs,
                      batch_size=cfg.batch_size, seed=cfg.seed, title=f"train {variant}", progress=progress)
        (run / "models").mkdir(exist_ok=True)
        model.save_weights(str(run / "models" / f"{variant}.weights.h5"))
        results[variant] = {"params": models.count_params(model), "seconds": round(time.time() - t0, 1),
                            "history": history}
    summary = {"classes": list(index.classes), "frames": int(x_tr.shape[1]), "bands": int(x_tr.shape[2]),
               "clips": {s: len(c) for s, c in comp.items()}, "variants": results}
    write_json(run / TRAIN, summary)
    return summary


@dataclass(frozen=True)
class TestSplit:
    """A run's test clips rebuilt exactly (composition, noise seeds, normalisation): what every evaluation reads."""

    data: Path
    classes: tuple[str, ...]
    clips: list[list[ds.Placement]]
    x: np.ndarray  # normalised features [N, frames, bands, 1]
    frontend: FrontendConfig
    trained: dict[str, Any]  # train.json


def load_test_split(run: Path, data: Path | None, cfg: TrainConfig, progress: ProgressFn = no_progress) -> TestSplit:
    """The run's test split from ``data`` (default: the folder it trained on), checked against the run."""
    info = read_json(run / RUN_INFO, "run info")
    data = Path(data) if data is not None else Path(info["data"])
    frontend = FrontendConfig.from_dict(read_json(run / FRONTEND, "frontend config"))
    comp = read_json(run / COMPOSITION, "composed splits")
    norm = read_json(run / NORM, "feature normalisation")
    trained = read_json(run / TRAIN, "training summary")
    index = ds.index_dataset(data, cfg.compose)
    if list(index.classes) != comp["classes"]:
        raise DatasetError(f"{data}: classes {list(index.classes)} differ from the run's {comp['classes']}")
    clips = ds.placements_from_json(comp["splits"]["test"])
    rels = sorted({p.rel for c in clips for p in c})
    files = [f for f in index.files if f.rel in set(rels)]
    if len(files) != len(rels):
        raise DatasetError(f"{data}: {len(rels) - len(files)} event file(s) of the run's test clips are missing")
    events = ds.load_events(index, files, frontend.sample_rate, cfg.compose.max_event_s, progress)
    x = _normalise(clip_features(clips, events, cfg, frontend, "test", progress), norm)
    return TestSplit(data, index.classes, clips, x, frontend, trained)


def load_model(run: Path, variant: str, split: TestSplit, cfg: TrainConfig) -> Any:
    """The trained Keras model of ``variant`` for this split's input shape."""
    glu, head = VARIANTS[variant]
    model = models.build_crnn(split.x.shape[1], split.x.shape[2], len(split.classes), head, glu, cfg.model,
                              name=variant.replace("-", "_"))
    weights = run / "models" / f"{variant}.weights.h5"
    if not weights.is_file():
        raise DatasetError(f"{weights}: missing (rerun train)")
    model.load_weights(str(weights))
    return model


def evaluate(run: Path, data: Path | None = None, progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Macro tagging AUC (+ bootstrap 95 % interval) of every variant and, for CTC heads, order accuracy."""
    info = read_json(run / RUN_INFO, "run info")
    cfg = from_dict(TrainConfig, info["config"])
    split = load_test_split(run, data, cfg, progress)
    x, clips, classes, trained = split.x, split.clips, split.classes, split.trained
    seqs = _sequences(clips)
    k = len(classes)
    truth = m.multi_hot(seqs, k)
    out: dict[str, Any] = {"data": str(split.data), "generated": (split.data / "synth_truth.json").is_file(),
                           "real_one_shots": (split.data / real.SOURCES).is_file(), "classes": list(classes), "n_test": len(clips), "variants": {}}
    for variant in trained["variants"]:
        glu, head = VARIANTS[variant]
        model = load_model(run, variant, split, cfg)
        outputs = model.predict(x, batch_size=64, verbose=0)
        scores = models.tag_scores(outputs, head)
        auc, per = m.macro_auc(truth, scores)
        lo, hi = m.bootstrap_macro_auc(truth, scores, seed=cfg.seed)
        res: dict[str, Any] = {"head": head, "glu": glu, "macro_auc": _num(auc), "auc_ci": [_num(lo), _num(hi)],
                               "per_class_auc": {c: _num(a) for c, a in zip(classes, per, strict=True)},
                               "params": trained["variants"][variant]["params"]}
        if head == "ctc":
            decoded = [m.ctc_greedy_decode(o, blank=k) for o in outputs]
            res["order"] = m.order_metrics(decoded, seqs)
        out["variants"][variant] = res
        progress("evaluating", len(out["variants"]), len(trained["variants"]))
    return out
