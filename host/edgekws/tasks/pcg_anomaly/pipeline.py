"""Train one beta-VAE per beta on normal windows; score every test record three ways; ROC AUC per score and beta.

The run directory holds ``frontend.json``, ``train.json`` (the record split, the
band normalisation, per beta: history, parameter count and the Gaussian of the
training windows' latent means) and ``models/beta-<b>.{encoder,decoder}.weights.h5``:
enough to score any record again without retraining.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from edgekws.errors import DatasetError
from edgekws.frontend import FrontendConfig
from edgekws.tasks.base import ProgressFn, no_progress
from edgekws.tasks.configs import from_dict
from edgekws.tasks.norm import Norm
from edgekws.tasks.pcg import pcg_frontend
from edgekws.tasks.pcg.physionet import PcgRecord, index_physionet
from edgekws.tasks.pcg.synth import TRUTH
from edgekws.tasks.pcg_anomaly import metrics, model
from edgekws.tasks.pcg_anomaly.config import SCORES, TrainConfig, beta_name
from edgekws.tasks.pcg_anomaly.features import record_features, split_records, standardise, windows
from edgekws.tasks.runner import RUN_INFO, read_json, write_json

FRONTEND = "frontend.json"
TRAIN = "train.json"


def _paths(run: Path, beta: float) -> tuple[Path, Path]:
    stem = run / "models" / beta_name(beta)
    return stem.with_name(stem.name + ".encoder.weights.h5"), stem.with_name(stem.name + ".decoder.weights.h5")


def _windows(recs: list[PcgRecord], frontend: FrontendConfig, cfg: TrainConfig, what: str,
             progress: ProgressFn) -> list[np.ndarray]:
    return [windows(f, cfg.window_frames, cfg.window_hop, r.record_id)
            for r, f in zip(recs, record_features(recs, frontend, what, progress), strict=True)]


def train(data: Path, run: Path, cfg: TrainConfig, progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Every beta's VAE on the normal training records of ``data`` (PhysioNet 2016 layout) into ``run``."""
    frontend = pcg_frontend()
    split = split_records(index_physionet(data), cfg.test_fraction, cfg.val_fraction, cfg.seed)
    w_tr = np.concatenate(_windows(split["train"], frontend, cfg, "train", progress))
    w_va = np.concatenate(_windows(split["val"], frontend, cfg, "validation", progress))
    norm = Norm.fit(w_tr)
    x_tr, x_va = standardise(norm, w_tr), standardise(norm, w_va)
    write_json(run / FRONTEND, frontend.to_dict())
    (run / "models").mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {
        "split": {k: [r.record_id for r in v] for k, v in split.items()},
        "windows": {"train": len(x_tr), "val": len(x_va), "frames": cfg.window_frames, "bands": int(w_tr.shape[2])},
        "norm": norm.to_dict(), "betas": {}}
    for beta in cfg.betas:
        t0 = time.time()
        enc, dec, hist = model.train_vae(x_tr, x_va, beta, hidden=cfg.hidden, latent=cfg.latent_dim,
                                         epochs=cfg.epochs, batch_size=cfg.batch_size,
                                         learning_rate=cfg.learning_rate, seed=cfg.seed,
                                         title=f"beta-VAE beta={beta:g}", progress=progress)
        pe, pd = _paths(run, beta)
        enc.save_weights(str(pe))
        dec.save_weights(str(pd))
        mu, _, _ = model.latent_and_recon(enc, dec, x_tr, cfg.latent_dim)
        mean, cov = metrics.gaussian_fit(mu)
        summary["betas"][beta_name(beta)] = {
            "beta": beta, "history": hist, "seconds": round(time.time() - t0, 1),
            "params": model.count_params(enc, dec), "encoder_params": model.count_params(enc),
            "latent_mean": mean.tolist(), "latent_cov": cov.tolist()}
    write_json(run / TRAIN, summary)
    return {"records": {k: len(v) for k, v in split.items()}, "windows": summary["windows"],
            "variants": {beta_name(b): True for b in cfg.betas}}


def score_records(run: Path, cfg: TrainConfig, trained: dict[str, Any], wins: list[np.ndarray],
                  progress: ProgressFn = no_progress) -> dict[str, dict[str, np.ndarray]]:
    """``{beta name: {score: [n_records]}}``: each record's mean window score under each trained model."""
    norm = Norm.from_dict(trained["norm"])
    xs = [standardise(norm, w) for w in wins]
    bounds = np.cumsum([0] + [len(x) for x in xs])
    x_all = np.concatenate(xs)
    out: dict[str, dict[str, np.ndarray]] = {}
    for i, (name, b) in enumerate(trained["betas"].items()):
        enc, dec = model.build_vae(x_all.shape[1], cfg.hidden, cfg.latent_dim)
        for m, p in zip((enc, dec), _paths(run, b["beta"]), strict=True):
            if not p.is_file():
                raise DatasetError(f"{p}: missing (rerun train)")
            m.load_weights(str(p))
        mu, lv, x_hat = model.latent_and_recon(enc, dec, x_all, cfg.latent_dim)
        ws = metrics.window_scores(x_all, mu, lv, x_hat, np.asarray(b["latent_mean"]), np.asarray(b["latent_cov"]))
        out[name] = {s: np.array([ws[s][a:z].mean() for a, z in zip(bounds[:-1], bounds[1:], strict=True)])
                     for s in SCORES}
        progress("scoring", i + 1, len(trained["betas"]))
    return out


def evaluate(run: Path, data: Path | None = None, progress: ProgressFn = no_progress) -> dict[str, Any]:
    """ROC AUC (95 % bootstrap interval) and ROC curve of every score and beta on the run's test records."""
    info = read_json(run / RUN_INFO, "run info")
    cfg = from_dict(TrainConfig, info["config"])
    data = Path(data) if data is not None else Path(info["data"])
    frontend = FrontendConfig.from_dict(read_json(run / FRONTEND, "frontend config"))
    trained = read_json(run / TRAIN, "training summary")
    by_id = {r.record_id: r for r in index_physionet(data)}
    missing = [rid for rid in trained["split"]["test"] if rid not in by_id]
    if missing:
        raise DatasetError(f"{data}: {len(missing)} test record(s) of the run are not in this dataset "
                           f"(first: {missing[0]})")
    test = [by_id[rid] for rid in trained["split"]["test"]]
    labels = np.array([int(r.abnormal) for r in test])
    scores = score_records(run, cfg, trained, _windows(test, frontend, cfg, "test", progress), progress)
    truth_path = data / TRUTH
    kinds = ({rid: t.get("kinds", []) for rid, t in json.loads(truth_path.read_text())["records"].items()}
             if truth_path.is_file() else {})
    out: dict[str, Any] = {"data": str(data), "generated": truth_path.is_file(), "n_normal": int((labels == 0).sum()),
                           "n_abnormal": int(labels.sum()), "scores": list(SCORES), "betas": {},
                           "records": {r.record_id: {"label": int(r.abnormal), "subset": r.subset,
                                                     "kinds": kinds.get(r.record_id, [])} for r in test}}
    all_kinds = sorted({k for r in test if r.abnormal for k in kinds.get(r.record_id, [])})
    for name, per in scores.items():
        res: dict[str, Any] = {"beta": trained["betas"][name]["beta"], "params": trained["betas"][name]["params"],
                               "scores": {}}
        for s in SCORES:
            fpr, tpr = metrics.roc(labels, per[s])
            per_kind = {}
            for k in all_kinds:  # normals vs the abnormal records that have this kind
                sel = (labels == 0) | np.array([k in kinds.get(r.record_id, []) for r in test])
                per_kind[k] = metrics.auc(labels[sel], per[s][sel])
            res["scores"][s] = {"auc": metrics.auc(labels, per[s]),
                                "ci": list(metrics.bootstrap_auc_ci(labels, per[s], cfg.bootstrap, cfg.seed)),
                                "fpr": fpr, "tpr": tpr, "per_kind_auc": per_kind,
                                "per_record": {r.record_id: float(v) for r, v in zip(test, per[s], strict=True)}}
        out["betas"][name] = res
    best = max(((n, s) for n in out["betas"] for s in SCORES), key=lambda p: out["betas"][p[0]]["scores"][p[1]]["auc"])
    out["best"] = {"beta": out["betas"][best[0]]["beta"], "score": best[1],
                   "auc": out["betas"][best[0]]["scores"][best[1]]["auc"]}
    return out
