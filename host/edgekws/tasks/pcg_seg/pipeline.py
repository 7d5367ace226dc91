"""Train and evaluate pcg-seg: every input type x every training fraction, one TCN and one decoder for all.

Per training fraction (a nested prefix of the training subjects):

* the decoder's durations (percentiles of that subset's complete annotated
  segments) and the state priors (for the hybrid emission ``log p(s|x) - log p(s)``);
* per input type: a per-feature normalisation and a TCN trained on half-overlapping
  chunks, the epoch chosen on the subset's validation subjects;
* ``logreg``: the in-house stand-in for Springer's LR-HSMM — a multinomial logistic
  regression on the envelope input with +-2 frames of context, decoded by the same
  decoder (Springer's own features and per-state one-vs-rest models differ).

The run directory holds ``train.json`` (split, durations, priors, norms, logistic
weights, histories) and ``models/<input>-<percent>.weights.h5``: enough to rebuild
every segmenter and score it again. ``evaluate`` scores the test subjects with the
decoder (and, for the record, the plain per-frame argmax without it).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from edgekws.frontend import FrontendConfig
from edgekws.tasks.base import ProgressFn, no_progress
from edgekws.tasks.configs import from_dict
from edgekws.tasks.fit import fit, set_seed
from edgekws.tasks.pcg import pcg_frontend
from edgekws.tasks.pcg.physionet import load_record
from edgekws.tasks.pcg.synth import TRUTH
from edgekws.tasks.pcg_seg import dataset as ds
from edgekws.tasks.pcg_seg import decode, metrics, model
from edgekws.tasks.pcg_seg.config import TrainConfig
from edgekws.tasks.pcg_seg.features import frame_times, record_inputs
from edgekws.tasks.runner import RUN_INFO, read_json, write_json

TRAIN = "train.json"
LOGREG = "logreg"
CONTEXT = 2  # logistic regression sees frames t-2 .. t+2
EXAMPLE_SCALE = 1  # which envelope scale the report draws


def _kinds(cfg: TrainConfig) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*cfg.inputs, *(("envelope",) if cfg.logreg else ()))))


def record_data(recs: list[ds.SegRecord], frontend: FrontendConfig, cfg: TrainConfig, what: str,
                progress: ProgressFn) -> list[dict[str, Any]]:
    """Per record: every input type's ``[frames, features]`` and the per-frame state codes."""
    out = []
    for i, r in enumerate(recs):
        x = load_record(r.record, frontend.sample_rate)
        feats = record_inputs(x, frontend, _kinds(cfg), cfg.envelope_cutoffs_hz, cfg.topo)
        n = frontend.num_frames(len(x))
        out.append({"id": r.record.record_id, "subject": r.subject, "feats": feats,
                    "states": ds.load_states(r, n, frontend)})
        progress(f"features ({what})", i + 1, len(recs))
    return out


def _labels(states: np.ndarray) -> np.ndarray:
    """Codes 1..4 -> class 0..3; unannotated -> -1 (masked)."""
    return np.where(states > 0, states - 1, -1).astype(np.int32)


def _norm(xs: list[np.ndarray]) -> dict[str, list[float]]:
    cat = np.concatenate(xs)
    return {"mean": cat.mean(0).tolist(), "std": (cat.std(0) + 1e-6).tolist()}


def _apply(x: np.ndarray, norm: dict[str, list[float]]) -> np.ndarray:
    return ((x - np.asarray(norm["mean"], np.float32)) / np.asarray(norm["std"], np.float32)).astype(np.float32)


def context_stack(x: np.ndarray, k: int = CONTEXT) -> np.ndarray:
    """``[T, F*(2k+1)]``: each frame with its k neighbours on either side (edges repeated)."""
    p = np.pad(x, ((k, k), (0, 0)), mode="edge")
    return np.concatenate([p[i:i + len(x)] for i in range(2 * k + 1)], axis=1)


def _split_val(subjects: list[str], frac: float) -> tuple[set[str], set[str]]:
    n_val = min(len(subjects) - 1, max(1, int(round(len(subjects) * frac))))
    return set(subjects[:-n_val]), set(subjects[-n_val:])


def _model_path(run: Path, name: str, percent: int) -> Path:
    return run / "models" / f"{name}-{percent}.weights.h5"


def train(data: Path, run: Path, cfg: TrainConfig, progress: ProgressFn = no_progress) -> dict[str, Any]:
    """TCN per input type and fraction (+ the logistic stand-in) on the training subjects of ``data``."""
    frontend = pcg_frontend()
    recs, unannotated = ds.index_annotated(data)
    split = ds.split_subjects([r.subject for r in recs], cfg.test_fraction, cfg.seed)
    train_set = set(split.train_order)
    rd = record_data([r for r in recs if r.subject in train_set], frontend, cfg, "train", progress)
    (run / "models").mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {"frontend": frontend.to_dict(), "test_subjects": split.test,
                               "train_order": split.train_order, "unannotated_records": unannotated,
                               "fractions": {}}
    for p in cfg.fractions:
        subj = split.train_subjects(p)
        tr_s, va_s = _split_val(subj, cfg.val_fraction)
        tr = [r for r in rd if r["subject"] in tr_s]
        va = [r for r in rd if r["subject"] in va_s]
        dur = decode.durations_from_annotations([r["states"] for r in tr], cfg.duration_margin)
        codes = np.concatenate([r["states"] for r in tr])
        prior = np.array([np.mean(codes[codes > 0] == c) for c in decode.CYCLE])
        info: dict[str, Any] = {"subjects": len(subj), "train_records": len(tr), "val_records": len(va),
                                "durations": dur.to_dict(), "prior": prior.tolist(), "inputs": {}}
        for inp in cfg.inputs:
            t0 = time.time()
            norm = _norm([r["feats"][inp] for r in tr])
            xc, yc = model.chunks([_apply(r["feats"][inp], norm) for r in tr], [_labels(r["states"]) for r in tr],
                                  cfg.chunk_frames)
            xv, yv = model.chunks([_apply(r["feats"][inp], norm) for r in va], [_labels(r["states"]) for r in va],
                                  cfg.chunk_frames)
            set_seed(cfg.seed)
            m = model.build_tcn(xc.shape[2], cfg.model.channels, cfg.model.dilations, cfg.model.dropout,
                                cfg.learning_rate, name=f"tcn_{inp.replace('+', '_')}")
            epochs = max(cfg.epochs, int(np.ceil(cfg.min_steps / np.ceil(len(xc) / cfg.batch_size))))
            hist = fit(m, xc, yc, xv, yv, epochs=epochs, batch_size=cfg.batch_size, seed=cfg.seed,
                       title=f"TCN {inp} {p} %", progress=progress)
            m.save_weights(str(_model_path(run, inp, p)))
            info["inputs"][inp] = {"norm": norm, "history": hist, "params": model.params(m),
                                   "features": int(xc.shape[2]), "chunks": int(len(xc)), "epochs": epochs,
                                   "seconds": round(time.time() - t0, 1)}
        if cfg.logreg:
            info[LOGREG] = _fit_logreg(tr, cfg)
        summary["fractions"][str(p)] = info
    write_json(run / TRAIN, summary)
    return {"fractions": list(cfg.fractions), "inputs": list(cfg.inputs), "train_records": len(rd),
            "test_subjects": len(split.test)}


def _fit_logreg(tr: list[dict[str, Any]], cfg: TrainConfig) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression

    norm = _norm([r["feats"]["envelope"] for r in tr])
    x = np.concatenate([context_stack(_apply(r["feats"]["envelope"], norm)) for r in tr])
    y = np.concatenate([r["states"] for r in tr])
    keep = y > 0
    lr = LogisticRegression(max_iter=500, C=1.0, random_state=cfg.seed).fit(x[keep], y[keep] - 1)
    return {"norm": norm, "coef": lr.coef_.tolist(), "intercept": lr.intercept_.tolist()}


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _score(posts: list[np.ndarray], rd: list[dict[str, Any]], dur: decode.Durations, prior: np.ndarray,
           times: list[np.ndarray], tol: float) -> tuple[dict[str, Any], list[np.ndarray]]:
    """Decoded and argmax counts over the test records, with record-bootstrap intervals."""
    dec_c, raw_c, decoded = [], [], []
    viol_dec = viol_raw = 0
    for post, r, t in zip(posts, rd, times, strict=True):
        path = decode.viterbi(np.log(post + 1e-8) - np.log(prior + 1e-8), dur)
        raw = post.argmax(1) + 1
        viol_dec += len(decode.violations(path))
        viol_raw += len(decode.violations(raw))
        dec_c.append(metrics.record_counts(path, r["states"], t, tol))
        raw_c.append(metrics.record_counts(raw, r["states"], t, tol))
        decoded.append(path)
    tot, tot_raw = metrics.Counts(), metrics.Counts()
    for c, rc in zip(dec_c, raw_c, strict=True):
        tot.add(c)
        tot_raw.add(rc)
    res = {"f1": tot.f1, "f1_ci": list(metrics.bootstrap_ci(dec_c, "f1")), "accuracy": tot.accuracy,
           "accuracy_ci": list(metrics.bootstrap_ci(dec_c, "accuracy")), "tp": tot.tp, "fp": tot.fp, "fn": tot.fn,
           "f1_argmax": tot_raw.f1, "accuracy_argmax": tot_raw.accuracy, "order_violations_decoded": viol_dec,
           "order_violations_argmax": viol_raw}
    return res, decoded


def evaluate(run: Path, data: Path | None = None, progress: ProgressFn = no_progress) -> dict[str, Any]:
    """S1/S2 F1 (+-tolerance) and frame accuracy of every segmenter on the test subjects.

    With ``data`` given, every annotated record of that folder is a test record (a
    different dataset has different subjects); otherwise the run's test subjects.
    """
    info = read_json(run / RUN_INFO, "run info")
    cfg = from_dict(TrainConfig, info["config"])
    summary = read_json(run / TRAIN, "pcg-seg training summary (train.json)")
    root = Path(data) if data is not None else Path(info["data"])
    frontend = FrontendConfig.from_dict(summary["frontend"])
    recs, _ = ds.index_annotated(root)
    if data is None:
        test = set(summary["test_subjects"])
        recs = [r for r in recs if r.subject in test]
    rd = record_data(recs, frontend, cfg, "test", progress)
    times = [frame_times(len(r["states"]), frontend) for r in rd]
    out: dict[str, Any] = {"data": str(root), "data_generated": (root / TRUTH).is_file(), "test_records": len(rd),
                           "test_frames_annotated": int(sum((r["states"] > 0).sum() for r in rd)),
                           "tolerance_s": cfg.tolerance_s, "variants": {}, "params": {}}
    examples_paths: dict[str, list[np.ndarray]] = {}
    for p in cfg.fractions:
        fi = summary["fractions"][str(p)]
        dur = decode.Durations.from_dict(fi["durations"])
        prior = np.asarray(fi["prior"])
        for inp in cfg.inputs:
            ii = fi["inputs"][inp]
            m = model.build_tcn(ii["features"], cfg.model.channels, cfg.model.dilations, cfg.model.dropout)
            m.load_weights(str(_model_path(run, inp, p)))
            posts = [np.asarray(m(_apply(r["feats"][inp], ii["norm"])[None], training=False))[0] for r in rd]
            res, paths = _score(posts, rd, dur, prior, times, cfg.tolerance_s)
            out["variants"][f"{inp}-{p}"] = {"input": inp, "percent": p, "subjects": fi["subjects"], **res}
            out["params"][inp] = ii["params"]
            if p == max(cfg.fractions):
                examples_paths[inp] = paths[:2]
        if LOGREG in fi:
            lr = fi[LOGREG]
            w, b = np.asarray(lr["coef"]), np.asarray(lr["intercept"])
            posts = [_softmax(context_stack(_apply(r["feats"]["envelope"], lr["norm"])) @ w.T + b) for r in rd]
            res, paths = _score(posts, rd, dur, prior, times, cfg.tolerance_s)
            out["variants"][f"{LOGREG}-{p}"] = {"input": LOGREG, "percent": p, "subjects": fi["subjects"], **res}
            if p == max(cfg.fractions):
                examples_paths[LOGREG] = paths[:2]
    out["examples"] = [
        {"id": r["id"], "hop_s": frontend.hop_length / frontend.sample_rate, "t0_s": float(times[i][0]),
         "envelope": np.round(r["feats"]["envelope"][:, min(EXAMPLE_SCALE, r["feats"]["envelope"].shape[1] - 1)],
                              3).tolist() if "envelope" in r["feats"] else [],
         "true": r["states"].tolist(), "pred": {k: v[i].tolist() for k, v in examples_paths.items()}}
        for i, r in enumerate(rd[:2])]
    return out
