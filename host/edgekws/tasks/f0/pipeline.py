"""Train the salience CNN and score CNN, pYIN and the combined estimator on the test tracks.

``train``: split the tracks (stems and mixtures separately, seeded), HCQT features
and Gaussian salience targets, random ``patch_frames`` excerpts, the CNN with
binary cross-entropy, best-on-validation weights; then the voicing threshold that
maximises overall accuracy on the validation stems. The run directory holds
``train.json`` (split, history, threshold) and ``models/salience.weights.h5``.

``evaluate``: per test stem, the three contours and their melody scores; per test
mixture, multi-F0 scores of the CNN's candidates, of the combined candidates and of
pYIN alone (one candidate), and per-voice scores after :func:`assign_voices`.
Contours of the first stem and mixture go to ``plots.npz`` for the report.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from edgekws.errors import DatasetError
from edgekws.tasks.base import ProgressFn, no_progress
from edgekws.tasks.configs import from_dict
from edgekws.tasks.f0 import estimators as est
from edgekws.tasks.f0 import features as feat
from edgekws.tasks.f0 import metrics as m
from edgekws.tasks.f0.config import SAMPLE_RATE, TrainConfig
from edgekws.tasks.f0.dataset import Track, load_dataset, load_track_audio, truth_on_frames
from edgekws.tasks.f0.models import build_salience_cnn, weighted_bce
from edgekws.tasks.f0.real import evaluate_piano
from edgekws.tasks.fit import fit, set_seed
from edgekws.tasks.runner import RUN_INFO, read_json, write_json

TRAIN = "train.json"
WEIGHTS = "models/salience.weights.h5"
PLOTS = "plots.npz"
METHODS = ("cnn", "pyin", "combined")
THRESHOLDS = tuple(np.round(np.arange(0.1, 0.75, 0.05), 2))


def split(tracks: list[Track], cfg: TrainConfig) -> dict[str, list[str]]:
    """Seeded train/val/test names; stems and mixtures split separately so each split gets both."""
    rng = np.random.default_rng([cfg.seed, 7])
    out: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    for kind in (1, 2):
        names = [t.name for t in tracks if min(t.voices, 2) == kind]
        if not names:
            continue
        names = [names[i] for i in rng.permutation(len(names))]
        n_test = max(1, int(round(cfg.test_fraction * len(names)))) if len(names) >= 3 else 0
        rest = names[n_test:]
        n_val = max(1, int(round(cfg.val_fraction * len(rest)))) if len(rest) >= 2 else 0
        out["test"] += names[:n_test]
        out["val"] += rest[:n_val]
        out["train"] += rest[n_val:]
    if not out["train"] or not out["test"]:
        raise DatasetError(f"too few tracks to split ({len(tracks)}): need at least 3 stems")
    return out


def track_features(track: Track) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(audio at 16 kHz, HCQT [frames, bins, harmonics], truth [frames, voices] on the grid)."""
    x = load_track_audio(track, SAMPLE_RATE)
    h = feat.hcqt(x)
    return x, h, truth_on_frames(track, feat.frame_times(len(h)))


def _patches(feats: list[tuple[np.ndarray, np.ndarray]], n_per: int, frames: int,
             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n_per`` random ``frames``-long excerpts of every (HCQT, target) pair, zero-padded when short."""
    xs, ys = [], []
    for h, y in feats:
        if len(h) < frames:
            pad = frames - len(h)
            h = np.pad(h, ((0, pad), (0, 0), (0, 0)))
            y = np.pad(y, ((0, pad), (0, 0)))
        for s in rng.integers(0, len(h) - frames + 1, n_per):
            xs.append(h[s:s + frames])
            ys.append(y[s:s + frames])
    return np.stack(xs), np.stack(ys)


def predict(model: Any, h: np.ndarray) -> np.ndarray:
    return model.predict(h[None], verbose=0)[0]


def train(data: Path, run: Path, cfg: TrainConfig, progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Fit the salience CNN on ``data``'s training tracks; tune the voicing threshold on its validation stems."""
    import tf_keras as keras

    t0 = time.time()
    tracks = {t.name: t for t in load_dataset(data)}
    parts = split(list(tracks.values()), cfg)
    cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    names = parts["train"] + parts["val"]
    for i, name in enumerate(names):
        _, h, f0 = track_features(tracks[name])
        cache[name] = (h, feat.salience_target(f0))
        progress("features", i + 1, len(names))
    rng = np.random.default_rng([cfg.seed, 11])
    x, y = _patches([cache[n] for n in parts["train"]], cfg.patches_per_track, cfg.patch_frames, rng)
    val_names = parts["val"] or parts["train"][:1]
    xv, yv = _patches([cache[n] for n in val_names], cfg.patches_per_track, cfg.patch_frames, rng)
    set_seed(cfg.seed)
    model = build_salience_cnn(cfg.model)
    model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate), loss=weighted_bce(cfg.pos_weight))
    history = fit(model, x, y, xv, yv, epochs=cfg.epochs, batch_size=cfg.batch_size, seed=cfg.seed,
                  title="salience CNN", progress=progress)
    (run / "models").mkdir(parents=True, exist_ok=True)
    model.save_weights(str(run / WEIGHTS))
    threshold, sweep = cfg.estimator.threshold, {}
    mono_val = [n for n in parts["val"] if tracks[n].voices == 1]
    if cfg.estimator.tune_threshold and mono_val:
        sal = {n: predict(model, cache[n][0]) for n in mono_val}
        for th in THRESHOLDS:
            sweep[str(th)] = float(np.mean([m.melody_scores(tracks[n].times, tracks[n].f0[:, 0],
                                                            est.decode_mono(sal[n], th))["oa"] for n in mono_val]))
        threshold = float(max(sweep, key=lambda k: sweep[k]))
    summary = {"split": parts, "history": history, "threshold": threshold, "threshold_sweep_val_oa": sweep,
               "params": int(model.count_params()), "train_patches": int(len(x)),
               "seconds": round(time.time() - t0, 1)}
    write_json(run / TRAIN, summary)
    return {"train_tracks": len(parts["train"]), "val_tracks": len(parts["val"]),
            "test_tracks": len(parts["test"]), "threshold": threshold, "params": summary["params"],
            "best_val_loss": float(min(history.get("val_loss", [float("nan")])))}


def load_model(run: Path, cfg: TrainConfig) -> Any:
    weights = run / WEIGHTS
    if not weights.is_file():
        raise DatasetError(f"{weights}: missing (rerun train)")
    model = build_salience_cnn(cfg.model)
    model.load_weights(str(weights))
    return model


def score_stem(model: Any, track: Track, cfg: TrainConfig, threshold: float) -> dict[str, Any]:
    """The three contours of one monophonic track and their melody scores."""
    x, h, _ = track_features(track)
    sal = predict(model, h)
    cnn = est.decode_mono(sal, threshold)
    p = est.pyin(x, len(h), cfg.estimator.pyin_frame_length)
    comb, counts = est.combine(sal, cnn, p, cfg.estimator)
    contours = {"cnn": cnn, "pyin": p.f0, "combined": comb}
    scores = {k: m.melody_scores(track.times, track.f0[:, 0], v) for k, v in contours.items()}
    return {"scores": scores, "counts": counts, "contours": contours, "salience": sal}


def score_mixture(model: Any, track: Track, cfg: TrainConfig, threshold: float) -> dict[str, Any]:
    """Multi-F0 scores (CNN candidates, combined, pYIN alone) and per-voice melody scores of one mixture."""
    e = cfg.estimator
    x, h, _ = track_features(track)
    sal = predict(model, h)
    cands = est.decode_multi(sal, threshold, e.max_voices, e.min_peak_distance)
    p = est.pyin(x, len(h), e.pyin_frame_length)
    comb, added = est.combine_multi(sal, cands, p, e)
    py = [np.array([f]) if f > 0 else np.zeros(0) for f in p.f0]
    sets = {"cnn": cands, "combined": comb, "pyin": py}
    multi = {k: m.multipitch_scores(track, v) for k, v in sets.items()}
    per_voice: dict[str, list[dict[str, float]]] = {}
    assigned: dict[str, np.ndarray] = {}
    for k in ("cnn", "combined"):
        assigned[k] = est.assign_voices(sets[k], track.voices)
        per_voice[k] = [m.melody_scores(track.times, track.f0[:, v], assigned[k][:, v])
                        for v in range(track.voices)]
    return {"multi": multi, "per_voice": per_voice, "added": added, "assigned": assigned, "salience": sal,
            "pyin": p.f0}


def evaluate(run: Path, data: Path | None = None, progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Scores of every method on the run's test tracks (every track of ``data`` when it is another folder)."""
    info = read_json(run / RUN_INFO, "run info")
    cfg = from_dict(TrainConfig, info["config"])
    trained = read_json(run / TRAIN, "training summary")
    own = data is None or Path(data).resolve() == Path(info["data"])
    data = Path(info["data"]) if data is None else Path(data)
    tracks = {t.name: t for t in load_dataset(data)}
    names = trained["split"]["test"] if own else list(tracks)
    missing = [n for n in names if n not in tracks]
    if missing:
        raise DatasetError(f"{data}: test track(s) {', '.join(missing[:3])} of the run are missing")
    model = load_model(run, cfg)
    th = float(trained["threshold"])
    stems: dict[str, Any] = {}
    mixes: dict[str, Any] = {}
    plots: dict[str, np.ndarray] = {}
    counts = {"filled": 0, "corrected": 0, "frames": 0, "added_multi": 0}
    for i, n in enumerate(names):
        t = tracks[n]
        if t.voices == 1:
            r = score_stem(model, t, cfg, th)
            stems[n] = r["scores"]
            counts["filled"] += r["counts"]["filled"]
            counts["corrected"] += r["counts"]["corrected"]
            counts["frames"] += len(r["salience"])
            if "stem_cnn" not in plots:
                plots.update({f"stem_{k}": v for k, v in r["contours"].items()})
                plots["stem_truth_times"], plots["stem_truth_f0"] = t.times, t.f0[:, 0]
                plots["stem_salience"] = r["salience"].astype(np.float16)
                plots["stem_name"] = np.array(n)
        else:
            r = score_mixture(model, t, cfg, th)
            mixes[n] = {"multi": r["multi"], "per_voice": r["per_voice"]}
            counts["added_multi"] += r["added"]
            if "mix_cnn" not in plots:
                plots.update({f"mix_{k}": v for k, v in r["assigned"].items()})
                plots["mix_pyin"] = r["pyin"]
                plots["mix_truth_times"], plots["mix_truth_f0"] = t.times, t.f0
                plots["mix_salience"] = r["salience"].astype(np.float16)
                plots["mix_name"] = np.array(n)
        progress("evaluating", i + 1, len(names))
    np.savez_compressed(run / PLOTS, **plots)
    out = {"data": str(data), "generated": (data / "edgekws_task_data.json").is_file(),
           "threshold": th, "n_stems": len(stems), "n_mixtures": len(mixes),
           "stems": summarise_stems(stems, cfg.seed), "mixtures": summarise_mixtures(mixes, cfg.seed),
           "combined_counts": counts, "per_track": m.json_safe({"stems": stems, "mixtures": mixes})}
    real = evaluate_piano(model, cfg, th) if cfg.real else None
    if real is not None:
        out["real"] = m.json_safe(real)
    return out


def summarise_stems(stems: dict[str, Any], seed: int) -> dict[str, Any]:
    """Per method and metric: mean over stems with the bootstrap interval."""
    if not stems:
        return {}
    keys = next(iter(stems.values()))["cnn"].keys()
    return {meth: {k: m.mean_ci([s[meth][k] for s in stems.values()], seed) for k in keys} for meth in METHODS}


def summarise_mixtures(mixes: dict[str, Any], seed: int) -> dict[str, Any]:
    """Multi-F0 per method, and per-voice RPA/RCA/OA/flatness for the CNN and the combined estimator."""
    if not mixes:
        return {}
    out: dict[str, Any] = {"multi": {meth: {k: m.mean_ci([r["multi"][meth][k] for r in mixes.values()], seed)
                                            for k in m.MULTI_KEYS.values()} for meth in METHODS}}
    voices = len(next(iter(mixes.values()))["per_voice"]["cnn"])
    out["per_voice"] = {meth: [{k: m.mean_ci([r["per_voice"][meth][v][k] for r in mixes.values()], seed)
                                for k in ("rpa", "rca", "oa", "flatness")} for v in range(voices)]
                        for meth in ("cnn", "combined")}
    return out
