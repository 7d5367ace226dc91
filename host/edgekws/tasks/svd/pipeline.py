"""Train the three svd models (pre-trained on speech, fine-tuned on singing, singing only) and score them frame-wise.

* ``pretrained``: the CNN trained on the pre-training set (speech over music). Scored on
  the singing test split it is the "before transfer" figure.
* ``transfer``: ``pretrained``'s weights fine-tuned on the singing training split at a
  lower learning rate (same input normalisation as its start): the "after transfer" figure.
* ``scratch``: the same CNN trained on the singing training split alone, for as many
  epochs as fine-tuning gets: the control that says whether the pre-training helped.

Every model keeps the weights of its best validation epoch (each set's ``valid`` split).
Posteriors are median-filtered, then thresholded. The run directory holds
``frontend.json``, ``train.json`` (norms, histories, chunk counts) and
``models/<model>.weights.h5``: enough to score again without retraining.
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
from edgekws.tasks.datasets import load_event_audio
from edgekws.tasks.fit import fit, set_seed
from edgekws.tasks.norm import Norm
from edgekws.tasks.runner import RUN_INFO, read_json, write_json
from edgekws.tasks.svd import jamendo, metrics, models
from edgekws.tasks.svd.config import MODELS, TrainConfig, task_frontend
from edgekws.tasks.svd.synth import TRUTH

FRONTEND = "frontend.json"
TRAIN = "train.json"
#: Which normalisation each model's input gets: a fine-tuned model keeps the statistics it was pre-trained on.
NORM_OF = {"pretrained": "pretrain", "transfer": "pretrain", "scratch": "target"}


@dataclass(frozen=True)
class Clip:
    name: str
    feats: np.ndarray  # [T, bands] log-mel dB
    labels: np.ndarray  # [T] 1 = vocal


def resolve_set(data: Path, where: str) -> Path:
    """A set folder named in the config: absolute, or relative to the ``--data`` folder."""
    p = Path(where)
    return p if p.is_absolute() else Path(data) / p


def load_clips(root: Path, split: str, frontend: FrontendConfig, progress: ProgressFn = no_progress) -> list[Clip]:
    """Log-mel and frame targets of every track of one split of a Jamendo-layout folder."""
    tracks = jamendo.load_split(root, split)
    out = []
    for i, t in enumerate(tracks):
        x = load_event_audio(t.audio, frontend.sample_rate)
        if frontend.num_frames(len(x)) < 1:
            raise DatasetError(f"{t.audio}: shorter than one {frontend.window_ms:g} ms frame")
        f = compute_features(x, frontend)
        out.append(Clip(Path(t.name).stem, f, jamendo.frame_labels(t.segments, len(f), frontend)))
        progress(f"features ({root.name}/{split})", i + 1, len(tracks))
    return out


def chunks(clips: list[Clip], norm: Norm, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Training excerpts of ``frames`` frames at half-overlap (``[N, frames, bands, 1]``, ``[N, frames, 1]``).

    A clip shorter than one excerpt is padded with its quietest frame and non-vocal targets.
    """
    xs, ys = [], []
    for c in clips:
        f, y = norm(c.feats), c.labels
        if len(f) < frames:
            pad = frames - len(f)
            f = np.concatenate([f, np.repeat(f.min(axis=0, keepdims=True), pad, axis=0)])
            y = np.concatenate([y, np.zeros(pad, np.float32)])
        for s in range(0, len(f) - frames + 1, max(1, frames // 2)):
            xs.append(f[s:s + frames])
            ys.append(y[s:s + frames])
    return np.stack(xs)[..., None], np.stack(ys)[..., None].astype(np.float32)


def _weights(run: Path, name: str) -> Path:
    return run / "models" / f"{name}.weights.h5"


def train(data: Path, run: Path, cfg: TrainConfig, progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Pre-train on ``cfg.pretrain``, fine-tune on ``cfg.target``, and train the target-only control."""
    frontend = task_frontend()
    pre_root, tgt_root = resolve_set(data, cfg.pretrain), resolve_set(data, cfg.target)
    pre = {s: load_clips(pre_root, s, frontend, progress) for s in ("train", "valid")}
    tgt = {s: load_clips(tgt_root, s, frontend, progress) for s in ("train", "valid")}
    for name, sets in (("pre-training", pre), ("target", tgt)):
        if not any(c.labels.any() for c in sets["train"]):
            raise DatasetError(f"the {name} training split has no vocal frame")
    norms = {"pretrain": Norm.fit(np.concatenate([c.feats for c in pre["train"]])),
             "target": Norm.fit(np.concatenate([c.feats for c in tgt["train"]]))}
    write_json(run / FRONTEND, frontend.to_dict())
    (run / "models").mkdir(parents=True, exist_ok=True)
    bands = frontend.num_features
    summary: dict[str, Any] = {"bands": bands, "norms": {k: v.to_dict() for k, v in norms.items()},
                               "clips": {"pretrain": {s: len(v) for s, v in pre.items()},
                                         "target": {s: len(v) for s, v in tgt.items()}},
                               "vocal_fraction": {"pretrain": float(np.mean(np.concatenate([c.labels for c in pre["train"]]))),
                                                  "target": float(np.mean(np.concatenate([c.labels for c in tgt["train"]])))},
                               "models": {}}
    plan = {"pretrained": (pre, None, cfg.pretrain_epochs, cfg.learning_rate),
            "transfer": (tgt, "pretrained", cfg.finetune_epochs, cfg.finetune_learning_rate),
            "scratch": (tgt, None, cfg.scratch_epochs, cfg.learning_rate)}
    built: dict[str, Any] = {}
    for name in MODELS:
        sets, start, epochs, lr = plan[name]
        norm = norms[NORM_OF[name]]
        x, y = chunks(sets["train"], norm, cfg.chunk_frames)
        xv, yv = chunks(sets["valid"], norm, cfg.chunk_frames)
        t0 = time.time()
        set_seed(cfg.seed)
        model = models.build(bands, cfg.model, name=f"svd_{name}")
        if start is not None:
            model.set_weights(built[start].get_weights())
        models.compile_model(model, lr)
        history = fit(model, x, y, xv, yv, epochs=epochs, batch_size=cfg.batch_size, seed=cfg.seed,
                      title=f"{name} ({len(x)} excerpts)", progress=progress)
        model.save_weights(str(_weights(run, name)))
        built[name] = model
        summary["models"][name] = {"history": history, "excerpts": len(x), "seconds": round(time.time() - t0, 1),
                                   "started_from": start, "norm": NORM_OF[name], "epochs": epochs,
                                   "learning_rate": lr, "params": int(model.count_params())}
    write_json(run / TRAIN, summary)
    return {"models": {k: {"excerpts": v["excerpts"], "best_epoch": v["history"]["best_epoch"]}
                       for k, v in summary["models"].items()}}


def posteriors(model: Any, clips: list[Clip], norm: Norm) -> list[np.ndarray]:
    """Per-frame vocal probability of each clip (clips of equal length scored in one batch)."""
    out: list[np.ndarray | None] = [None] * len(clips)
    by_len: dict[int, list[int]] = {}
    for i, c in enumerate(clips):
        by_len.setdefault(len(c.feats), []).append(i)
    for idx in by_len.values():
        x = np.stack([norm(clips[i].feats) for i in idx])[..., None]
        p = np.asarray(model(x, training=False))[..., 0]  # a direct call: no retracing per clip length
        for i, row in zip(idx, p, strict=True):
            out[i] = row.astype(np.float32)
    return [o for o in out if o is not None]


def score_posteriors(post: list[np.ndarray], clips: list[Clip], k: int, threshold: float,
                     seed: int) -> tuple[dict[str, Any], list[metrics.Counts]]:
    """Raw and median-smoothed frame scores; returns the per-clip counts of the smoothed decision too."""
    raw = [metrics.Counts.of(p >= threshold, c.labels > 0.5) for p, c in zip(post, clips, strict=True)]
    smooth = [metrics.Counts.of(metrics.median_smooth(p, k) >= threshold, c.labels > 0.5)
              for p, c in zip(post, clips, strict=True)]
    return {"raw": metrics.score_clips(raw, seed), "smoothed": metrics.score_clips(smooth, seed)}, smooth


def _example(clips: list[Clip]) -> int:
    """The test clip with the most vocal on/off switches (the most telling plot)."""
    return int(np.argmax([np.sum(np.abs(np.diff(c.labels))) for c in clips]))


def load_models(run: Path, cfg: TrainConfig, bands: int) -> dict[str, Any]:
    out = {}
    for name in MODELS:
        w = _weights(run, name)
        if not w.is_file():
            raise DatasetError(f"{w}: missing (rerun train)")
        m = models.build(bands, cfg.model, name=f"svd_{name}")
        m.load_weights(str(w))
        out[name] = m
    return out


def evaluate(run: Path, data: Path | None = None, progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Frame scores of the three models on the target test split (+ the pre-trained one on its own test split)."""
    info = read_json(run / RUN_INFO, "run info")
    cfg = from_dict(TrainConfig, info["config"])
    data = Path(data) if data is not None else Path(info["data"])
    frontend = FrontendConfig.from_dict(read_json(run / FRONTEND, "frontend config"))
    trained = read_json(run / TRAIN, "training summary")
    norms = {k: Norm.from_dict(v) for k, v in trained["norms"].items()}
    pre_root, tgt_root = resolve_set(data, cfg.pretrain), resolve_set(data, cfg.target)
    test = load_clips(tgt_root, "test", frontend, progress)
    pre_test = load_clips(pre_root, "test", frontend, progress)
    k = metrics.median_frames(cfg.median_seconds, frontend.hop_ms / 1000.0)
    nets = load_models(run, cfg, trained["bands"])
    out: dict[str, Any] = {"data": str(data), "target": str(tgt_root), "pretrain": str(pre_root),
                           "generated": (tgt_root / TRUTH).is_file(),
                           "pretrain_generated": (pre_root / TRUTH).is_file(),
                           "frontend": frontend.name, "hop_s": frontend.hop_ms / 1000.0, "median_frames": k,
                           "threshold": cfg.threshold, "n_test_clips": len(test),
                           "n_test_frames": int(sum(len(c.labels) for c in test)),
                           "test_vocal_fraction": float(np.mean(np.concatenate([c.labels for c in test]))),
                           "target_test": {}, "pretrain_test": {}}
    counts: dict[str, list[metrics.Counts]] = {}
    posts: dict[str, list[np.ndarray]] = {}
    for j, name in enumerate(MODELS):
        posts[name] = posteriors(nets[name], test, norms[NORM_OF[name]])
        out["target_test"][name], counts[name] = score_posteriors(posts[name], test, k, cfg.threshold, cfg.seed)
        progress("scoring", j + 1, len(MODELS) + 1)
    pre_post = posteriors(nets["pretrained"], pre_test, norms["pretrain"])
    out["pretrain_test"]["pretrained"], _ = score_posteriors(pre_post, pre_test, k, cfg.threshold, cfg.seed)
    progress("scoring", len(MODELS) + 1, len(MODELS) + 1)
    out["comparisons"] = {
        f"{b}_vs_{a}": {m: metrics.paired_difference(counts[a], counts[b], m, cfg.seed) for m in ("f", "accuracy")}
        for a, b in (("pretrained", "transfer"), ("scratch", "transfer"), ("pretrained", "scratch"))}
    e = _example(test)
    out["example"] = {"clip": test[e].name, "truth": test[e].labels.astype(int).tolist(),
                      "posteriors": {n: np.round(posts[n][e], 4).tolist() for n in MODELS}}
    from edgekws.tasks.svd import real

    out["real"] = real.score_if_cached(nets, norms, frontend, k, cfg.threshold)
    return out
