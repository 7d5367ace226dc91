"""Train and evaluate the asc methods on every requested training subset, score per device on the test split.

Per subset (5 ... 100 % of the training split, as its split CSV lists it):

* the per-band normalisation of that subset's features (``norm``);
* ``baseline``: the scene CNN with Freq-MixStyle and device impulse-response augmentation;
* ``city2scene``: a wider CNN learns the *city* of each clip (from meta.csv's
  identifier), is fine-tuned on scenes, and teaches the scene CNN by distillation;
* ``entropy`` / ``ddsc``: an auxiliary device classifier scores each clip out of
  fold; the entropy of its posterior drives the curriculum / the DDSC weights.

Every method trains the same CNN with the same augmentation, seed and epochs, so a
difference is the method's. The run directory holds ``frontend.json``,
``train.json`` (norms, histories, complexity, entropies) and
``models/<method>-<subset>.weights.h5`` (+ the City2Scene teachers): enough to
rebuild every model and score it again without retraining.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from edgekws.errors import DatasetError
from edgekws.frontend import FrontendConfig, compute_features
from edgekws.metrics import accuracy
from edgekws.tasks.asc import augment, curriculum, metrics, models, trainer
from edgekws.tasks.asc import dataset as ds
from edgekws.tasks.asc.config import TrainConfig, task_frontend
from edgekws.tasks.base import ProgressFn, no_progress
from edgekws.tasks.configs import from_dict
from edgekws.tasks.datasets import load_event_audio
from edgekws.tasks.fit import set_seed
from edgekws.tasks.runner import RUN_INFO, read_json, write_json

FRONTEND = "frontend.json"
TRAIN = "train.json"
TEACHER = "city2scene-teacher"


def clip_features(root: Path, clips: list[ds.Clip], frontend: FrontendConfig, what: str,
                  progress: ProgressFn = no_progress) -> np.ndarray:
    """Log-mel (dB) ``[N, frames, bands]`` of the clips, each cut or zero-padded to one second."""
    n = frontend.sample_rate
    out = []
    chunk = 64
    for start in range(0, len(clips), chunk):
        batch = []
        for c in clips[start:start + chunk]:
            x = load_event_audio(root / c.filename, frontend.sample_rate)[:n]
            batch.append(np.pad(x, (0, n - len(x))))
        out.append(compute_features(np.stack(batch), frontend))
        progress(f"features ({what})", min(start + chunk, len(clips)), len(clips))
    return np.concatenate(out).astype(np.float32)


def _model_path(run: Path, name: str, subset: int) -> Path:
    return run / "models" / f"{name}-{subset}.weights.h5"


def _oof_device_posteriors(x: np.ndarray, devices: np.ndarray, n_dev: int, norm: trainer.Norm, cfg: TrainConfig,
                           subset: int, progress: ProgressFn) -> np.ndarray:
    """Out-of-fold posteriors of the auxiliary device classifier (no augmentation: it must *see* devices)."""
    from edgekws.tasks.asc.config import AugmentConfig

    cc = cfg.curriculum
    rng = np.random.default_rng([cfg.seed, 43, subset])
    fold = rng.permutation(len(x)) % cc.folds
    post = np.zeros((len(x), n_dev), np.float32)
    none = AugmentConfig(mixstyle_p=0.0, dir_p=0.0)
    for f in range(cc.folds):
        tr, te = np.flatnonzero(fold != f), np.flatnonzero(fold == f)
        if len(te) == 0:
            continue
        set_seed(cfg.seed + 100 + f)
        m = models.build_cnn(x.shape[1], x.shape[2], n_dev, cc.device_channels, name="device_cnn")
        trainer.train(m, x[tr], devices[tr], n_dev, norm, none, np.zeros((0, x.shape[2]), np.float32),
                      epochs=cc.device_epochs, batch_size=cfg.batch_size, learning_rate=cfg.learning_rate,
                      seed=cfg.seed + f, title=f"device classifier {subset} % (fold {f + 1})", progress=progress)
        post[te] = trainer.softmax(m.predict(norm(x[te])[..., None], batch_size=256, verbose=0))
    return post


def _city2scene_teacher(x: np.ndarray, scenes: np.ndarray, cities: np.ndarray, n_scenes: int, n_cities: int,
                        norm: trainer.Norm, gains: np.ndarray, cfg: TrainConfig, subset: int, run: Path,
                        progress: ProgressFn) -> tuple[Any, dict[str, Any]]:
    """City classifier -> same network with a scene head, fine-tuned on scenes (the City2Scene teacher)."""
    c2 = cfg.city2scene
    set_seed(cfg.seed + 200)
    city = models.build_cnn(x.shape[1], x.shape[2], n_cities, c2.teacher_channels, cfg.model.convs_per_block,
                            cfg.model.dropout, name="city_cnn")
    h_city = trainer.train(city, x, cities, n_cities, norm, cfg.augment, gains, epochs=c2.city_epochs,
                           batch_size=cfg.batch_size, learning_rate=cfg.learning_rate, seed=cfg.seed + 200,
                           title=f"city classifier {subset} %", progress=progress)
    city_acc = float(np.mean(np.argmax(city.predict(norm(x)[..., None], batch_size=256, verbose=0), 1) == cities))
    teacher = models.build_cnn(x.shape[1], x.shape[2], n_scenes, c2.teacher_channels, cfg.model.convs_per_block,
                               cfg.model.dropout, name="city2scene_teacher")
    for layer in teacher.layers:
        if layer.name != "classes" and layer.weights:
            layer.set_weights(city.get_layer(layer.name).get_weights())
    h_scene = trainer.train(teacher, x, scenes, n_scenes, norm, cfg.augment, gains, epochs=c2.finetune_epochs,
                            batch_size=cfg.batch_size, learning_rate=cfg.learning_rate, seed=cfg.seed + 201,
                            title=f"city2scene teacher {subset} %", progress=progress)
    teacher.save_weights(str(_model_path(run, TEACHER, subset)))
    cx = models.complexity(teacher)
    return teacher, {"city_history": h_city, "history": h_scene, "city_train_accuracy": city_acc,
                     "params": cx.params, "macs": cx.macs}


def train(data: Path, run: Path, cfg: TrainConfig, progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Every method on every requested subset of ``data`` (DCASE 2024 Task 1 layout) into ``run``."""
    frontend = task_frontend()
    index = ds.index_dataset(data)
    for p in cfg.subsets:
        index.subset(p)  # a missing split CSV is an error before any work
    needed = sorted({f for p in cfg.subsets for f in index.subsets[p]})
    pos = {f: i for i, f in enumerate(needed)}
    feats = clip_features(index.root, [index.clips[f] for f in needed], frontend, "train", progress)
    write_json(run / FRONTEND, frontend.to_dict())
    (run / "models").mkdir(parents=True, exist_ok=True)
    scenes = list(index.scenes)
    gains = augment.ir_band_gains(augment.ir_bank(cfg.augment.dir_bank, cfg.augment.dir_seed, frontend.sample_rate),
                                  frontend)
    summary: dict[str, Any] = {"scenes": scenes, "frames": int(feats.shape[1]), "bands": int(feats.shape[2]),
                               "subsets": {}}
    for p in cfg.subsets:
        clips = index.subset(p)
        x = feats[[pos[c.filename] for c in clips]]
        y = np.array([scenes.index(c.scene) for c in clips])
        if len(set(y.tolist())) < len(scenes):
            raise DatasetError(f"{data}: {ds.split_csv(p)} lacks scene(s) "
                               f"{', '.join(sorted(set(scenes) - {c.scene for c in clips}))}")
        norm = trainer.Norm.fit(x)
        info: dict[str, Any] = {"clips": len(clips), "norm": norm.to_dict(), "methods": {},
                                "devices": {d: sum(c.device == d for c in clips) for d in sorted({c.device for c in clips})}}
        if {"entropy", "ddsc"} & set(cfg.methods):
            devs = sorted({c.device for c in clips})
            dy = np.array([devs.index(c.device) for c in clips])
            if len(devs) >= 2:
                post = _oof_device_posteriors(x, dy, len(devs), norm, cfg, p, progress)
                ent = curriculum.entropy(post)
                inv = ent / np.log(len(devs))
                dev_acc = float(np.mean(post.argmax(1) == dy))
            else:  # one device only: nothing to be invariant to; every clip counts the same
                ent, inv, dev_acc = np.zeros(len(clips)), np.ones(len(clips)), 1.0
            info["device_classifier"] = {
                "devices": devs, "oof_accuracy": dev_acc,
                "mean_normalised_entropy": {d: float(inv[dy == i].mean()) for i, d in enumerate(devs)},
                "entropy": {c.filename: float(e) for c, e in zip(clips, ent, strict=True)}}
        teacher_probs = None
        if "city2scene" in cfg.methods:
            cities = sorted({c.city for c in clips})
            cy = np.array([cities.index(c.city) for c in clips])
            t0 = time.time()
            teacher, tinfo = _city2scene_teacher(x, y, cy, len(scenes), len(cities), norm, gains, cfg, p, run,
                                                 progress)
            tinfo["cities"] = cities
            tinfo["seconds"] = round(time.time() - t0, 1)
            info["teacher"] = tinfo
            teacher_probs = trainer.softmax(teacher.predict(norm(x)[..., None], batch_size=256, verbose=0),
                                            cfg.city2scene.temperature)
        for method in cfg.methods:
            t0 = time.time()
            set_seed(cfg.seed)
            model = models.build_cnn(x.shape[1], x.shape[2], len(scenes), cfg.model.channels,
                                     cfg.model.convs_per_block, cfg.model.dropout, name=f"asc_{method}")
            kwargs: dict[str, Any] = {}
            if method == "city2scene":
                kwargs = {"teacher": teacher_probs, "kd_weight": cfg.city2scene.kd_weight,
                          "temperature": cfg.city2scene.temperature}
            elif method == "entropy":
                ent_arr = np.array([info["device_classifier"]["entropy"][c.filename] for c in clips])
                cc = cfg.curriculum
                kwargs = {"select": lambda e, ent_arr=ent_arr, cc=cc: curriculum.entropy_schedule(
                    ent_arr, e, cfg.epochs, cc.start_fraction, cc.pace)}
            elif method == "ddsc":
                kwargs = {"weigh": _ddsc_weigher(x, y, norm, info, clips, cfg)}
            history = trainer.train(model, x, y, len(scenes), norm, cfg.augment, gains, epochs=cfg.epochs,
                                    batch_size=cfg.batch_size, learning_rate=cfg.learning_rate, seed=cfg.seed,
                                    title=f"{method} {p} %", progress=progress, **kwargs)
            model.save_weights(str(_model_path(run, method, p)))
            cx = models.complexity(model)
            info["methods"][method] = {"history": history, "seconds": round(time.time() - t0, 1),
                                       "params": cx.params, "macs": cx.macs}
        summary["subsets"][str(p)] = info
    cx = models.complexity(models.build_cnn(summary["frames"], summary["bands"], len(scenes), cfg.model.channels,
                                            cfg.model.convs_per_block, cfg.model.dropout))
    summary["complexity"] = {"params": cx.params, "macs": cx.macs, "per_layer_macs": cx.conv_macs,
                             "param_bytes_int8": cx.param_bytes(8), "param_bytes_fp16": cx.param_bytes(16),
                             "within_limits_int8": cx.within_limits(8), "max_param_bytes": models.MAX_PARAM_BYTES,
                             "max_macs": models.MAX_MACS}
    write_json(run / TRAIN, summary)
    return {**summary, "variants": {f"{m}-{p}": True for p in cfg.subsets for m in cfg.methods}}


def _ddsc_weigher(x: np.ndarray, y: np.ndarray, norm: trainer.Norm, info: dict[str, Any], clips: list[ds.Clip],
                  cfg: TrainConfig) -> trainer.Weigh:
    """DDSC's per-epoch weights: invariance from the device entropies, progress from the per-clip loss history."""
    devs = info["device_classifier"]["devices"]
    ent = np.array([info["device_classifier"]["entropy"][c.filename] for c in clips])
    inv = ent / np.log(len(devs)) if len(devs) >= 2 else np.ones(len(clips))
    clean = norm(x)
    losses: list[np.ndarray] = []

    def weigh(epoch: int, model: Any) -> np.ndarray:
        if epoch > 0:
            losses.append(trainer.per_clip_ce(model, clean, y))
        prev = losses[-2] if len(losses) >= 2 else None
        now = losses[-1] if losses else None
        return curriculum.ddsc_weights(inv, prev, now, epoch, cfg.epochs, cfg.curriculum.min_weight)

    return weigh


def evaluate(run: Path, data: Path | None = None, progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Accuracy (overall and class-wise), per device and seen vs unseen, of every method and subset."""
    info = read_json(run / RUN_INFO, "run info")
    cfg = from_dict(TrainConfig, info["config"])
    data = Path(data) if data is not None else Path(info["data"])
    frontend = FrontendConfig.from_dict(read_json(run / FRONTEND, "frontend config"))
    trained = read_json(run / TRAIN, "training summary")
    index = ds.index_dataset(data)
    scenes = trained["scenes"]
    clips = index.test_clips()
    unknown = sorted({c.scene for c in clips} - set(scenes))
    if unknown:
        raise DatasetError(f"{data}: test scene(s) {', '.join(unknown)} are not among the run's {len(scenes)} scenes")
    x_db = clip_features(index.root, clips, frontend, "test", progress)
    y = np.array([scenes.index(c.scene) for c in clips])
    devices = np.array([c.device for c in clips])
    seen_train = sorted({d for s in trained["subsets"].values() for d in s["devices"]})
    out: dict[str, Any] = {"data": str(data), "generated": (data / "synth_truth.json").is_file(),
                           "scenes": scenes, "n_test": len(clips), "devices": sorted(set(devices.tolist())),
                           "seen_devices": seen_train, "unseen_devices": sorted(set(devices.tolist()) - set(seen_train)),
                           "complexity": trained["complexity"], "subsets": {}}
    total = sum(len(s["methods"]) + ("teacher" in s) for s in trained["subsets"].values())
    done = 0
    for p, sub in trained["subsets"].items():
        norm = trainer.Norm.from_dict(sub["norm"])
        xs = norm(x_db)[..., None]
        res: dict[str, Any] = {}
        names = list(sub["methods"]) + ([TEACHER] if "teacher" in sub else [])
        for name in names:
            channels = cfg.city2scene.teacher_channels if name == TEACHER else cfg.model.channels
            model = models.build_cnn(x_db.shape[1], x_db.shape[2], len(scenes), channels, cfg.model.convs_per_block,
                                     cfg.model.dropout)
            weights = _model_path(run, name, int(p))
            if not weights.is_file():
                raise DatasetError(f"{weights}: missing (rerun train)")
            model.load_weights(str(weights))
            pred = np.argmax(model.predict(xs, batch_size=256, verbose=0), axis=1)
            res[name] = score(pred, y, devices, seen_train, len(scenes), cfg.seed)
            done += 1
            progress("evaluating", done, total)
        base = res.get("baseline")
        for name, r in res.items():
            if base is not None and name != "baseline":
                r["vs_baseline_mcnemar_p"] = metrics.mcnemar_p(np.array(base["correct"]), np.array(r["correct"]))
        out["subsets"][p] = res
    return out


def score(pred: np.ndarray, y: np.ndarray, devices: np.ndarray, seen: list[str], n_classes: int,
          seed: int) -> dict[str, Any]:
    """Class-wise (macro) accuracy with a bootstrap interval, overall / per device / seen vs unseen with Wilson's."""
    correct = pred == y
    macro = metrics.classwise_accuracy(pred, y, n_classes)
    lo, hi = metrics.bootstrap_classwise(pred, y, n_classes, seed=seed)
    unseen = ~np.isin(devices, seen)
    per_device = {str(d): accuracy(int(correct[devices == d].sum()), int((devices == d).sum())).as_dict()
                  for d in sorted(set(devices.tolist()))}
    return {"classwise_accuracy": macro, "classwise_ci": [lo, hi],
            "accuracy": accuracy(int(correct.sum()), len(y)).as_dict(),
            "seen": accuracy(int(correct[~unseen].sum()), int((~unseen).sum())).as_dict(),
            "unseen": accuracy(int(correct[unseen].sum()), int(unseen.sum())).as_dict(),
            "per_device": per_device, "per_class": metrics.per_class_accuracy(pred, y, n_classes),
            "correct": [bool(c) for c in correct]}

