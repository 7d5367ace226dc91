"""The f0 report: accuracy per method (CNN, pYIN, combined) on stems, multi-F0 and per-voice on mixtures,
what the combined estimator changed, contours predicted vs true; the real-recording figure when measured.

No published figure is quoted as an anchor: the offline anchors the issue names
(pesto-pitch, torchcrepe) need PyTorch, which the project does not install, so
they are not run, and the report says so instead of borrowing their papers' numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgekws.tasks.base import Anchor
from edgekws.tasks.report import Figure, Table, write_task_report
from edgekws.tasks.runner import METRICS, RUN_INFO, read_json

ANCHORS: tuple[Anchor, ...] = ()
NAMES = {"cnn": "salience CNN", "pyin": "pYIN", "combined": "CNN + pYIN (combined)"}
STEM_COLS = (("rpa", "RPA"), ("rca", "RCA"), ("oa", "OA"), ("voicing_recall", "voicing recall"),
             ("voicing_false_alarm", "voicing false alarm"), ("flatness", "flatness"))


def fmt(r: dict[str, Any]) -> str:
    """``mean [low, high]`` in percent, or '-' when nothing was scored."""
    if r.get("mean") is None:
        return "-"
    lo, hi = r["ci"]
    return f"{100 * r['mean']:.1f} [{100 * lo:.1f}, {100 * hi:.1f}]"


def paired_difference(per_track: dict[str, Any], a: str, b: str, key: str, seed: int = 0) -> dict[str, float]:
    """Mean of ``b - a`` over the same tracks with a seeded 95 % bootstrap interval (tracks resampled)."""
    d = np.array([s[b][key] - s[a][key] for s in per_track.values()
                  if s[b][key] is not None and s[a][key] is not None])  # None: not defined on that track
    if len(d) == 0:
        return {"mean": float("nan"), "low": float("nan"), "high": float("nan")}
    boots = d[np.random.default_rng(seed).integers(0, len(d), (2000, len(d)))].mean(axis=1)
    return {"mean": float(d.mean()), "low": float(np.quantile(boots, 0.025)),
            "high": float(np.quantile(boots, 0.975))}


def _diff_text(d: dict[str, float]) -> str:
    verdict = "higher" if d["low"] > 0 else "lower" if d["high"] < 0 else "not separable"
    return f"{100 * d['mean']:+.1f} points [{100 * d['low']:+.1f}, {100 * d['high']:+.1f}] ({verdict})"


def findings(metrics: dict[str, Any]) -> list[str]:
    out = []
    stems = metrics["per_track"]["stems"]
    if stems:
        for other in ("pyin", "combined"):
            parts = [f"{label} {_diff_text(paired_difference(stems, 'cnn', other, key))}"
                     for key, label in (("rpa", "RPA"), ("oa", "OA"), ("flatness", "flatness"))]
            out.append(f"{NAMES[other]} minus the CNN on the same {len(stems)} test stems: " + "; ".join(parts) + ".")
        c = metrics["combined_counts"]
        out.append(f"The combined estimator filled {c['filled']} unvoiced CNN frames and corrected {c['corrected']} "
                   f"octave errors out of {c['frames']} frames ({100 * (c['filled'] + c['corrected']) / max(1, c['frames']):.1f} %).")
    mix = metrics.get("mixtures") or {}
    if mix:
        mm = mix["multi"]
        out.append("Two-voice mixtures, multi-F0 accuracy: " + ", ".join(
            f"{NAMES[k]} {fmt(mm[k]['accuracy'])}" for k in ("cnn", "combined", "pyin"))
            + " % (pYIN gives one F0 per frame, so it can find at most half the notes).")
    real = metrics.get("real")
    if real:
        out.append(f"Real piano notes ({real['n']} notes in range): RPA " + ", ".join(
            f"{NAMES[k]} {fmt(real['scores'][k]['rpa'])}" for k in ("cnn", "pyin", "combined")) + " %; "
            f"combined minus the CNN on the same notes: RPA "
            f"{_diff_text(paired_difference(real['per_note'], 'cnn', 'combined', 'rpa'))}, RCA "
            f"{_diff_text(paired_difference(real['per_note'], 'cnn', 'combined', 'rca'))}.")
    return out


def _cents_axis(ax: Any) -> None:
    ax.set_yscale("log")
    ax.set_ylabel("F0 (Hz, log)")
    ax.set_xlabel("time (s)")
    ax.grid(alpha=0.3, which="both")


def stem_plot(p: dict[str, np.ndarray]) -> bytes:
    """Truth vs the three estimates on the first test stem (unvoiced frames not drawn)."""
    from edgekws.report.figures import _plt, _png
    from edgekws.tasks.f0.features import frame_times

    plt = _plt()
    fig, ax = plt.subplots(figsize=(8.0, 4.0))
    tt, tf = p["stem_truth_times"], p["stem_truth_f0"]
    ax.plot(tt, np.where(tf > 0, tf, np.nan), "k-", lw=3, alpha=0.35, label="truth")
    for k, style, ms in (("pyin", "g.", 5.0), ("cnn", "b.", 3.5), ("combined", "r.", 1.5)):  # smaller on top
        f = p[f"stem_{k}"]
        ax.plot(frame_times(len(f)), np.where(f > 0, f, np.nan), style, ms=ms, label=NAMES[k])
    _cents_axis(ax)
    ax.legend(fontsize=7)
    ax.set_title(f"Contours on test stem {p['stem_name']}")
    return _png(fig)


def mixture_plot(p: dict[str, np.ndarray]) -> bytes:
    """The CNN's salience on the first test mixture with both true contours and the assigned voices."""
    from edgekws.report.figures import _plt, _png
    from edgekws.tasks.f0.config import HOP, N_BINS, SAMPLE_RATE
    from edgekws.tasks.f0.features import bin_to_hz, frame_times

    plt = _plt()
    fig, ax = plt.subplots(figsize=(8.0, 4.0))
    sal = p["mix_salience"].astype(np.float32)
    ax.imshow(sal.T, origin="lower", aspect="auto", cmap="Greys",
              extent=(0, len(sal) * HOP / SAMPLE_RATE, 0, N_BINS))
    tt = p["mix_truth_times"]
    binf = lambda f: np.where(f > 0, 60 * np.log2(np.maximum(f, 1e-9) / float(bin_to_hz(0))), np.nan)  # noqa: E731
    for v in range(p["mix_truth_f0"].shape[1]):
        ax.plot(tt, binf(p["mix_truth_f0"][:, v]), "-", color="orange", lw=2, alpha=0.6,
                label="truth" if v == 0 else None)
        ax.plot(frame_times(len(p["mix_combined"])), binf(p["mix_combined"][:, v]), ".", ms=2,
                color=("tab:blue", "tab:red")[v % 2], label=f"combined, voice {v + 1}")
    ticks = np.arange(0, N_BINS + 1, 60)
    ax.set_yticks(ticks, [f"{bin_to_hz(t):.0f}" for t in ticks])
    ax.set_ylabel("F0 (Hz)")
    ax.set_xlabel("time (s)")
    ax.legend(fontsize=7, loc="upper right")
    ax.set_title(f"Salience (grey) on test mixture {p['mix_name']}")
    return _png(fig)


def bar_plot(metrics: dict[str, Any]) -> bytes:
    """RPA / RCA / OA / flatness per method on the stems, bars with the 95 % interval."""
    from edgekws.report.figures import _plt, _png

    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    keys = [("rpa", "RPA"), ("rca", "RCA"), ("oa", "OA"), ("flatness", "flatness")]
    for i, meth in enumerate(("cnn", "pyin", "combined")):
        r = metrics["stems"][meth]
        v = np.array([r[k]["mean"] or 0.0 for k, _ in keys])
        err = np.array([[max(0.0, v[j] - (r[k]["ci"][0] or 0.0)) for j, (k, _) in enumerate(keys)],
                        [max(0.0, (r[k]["ci"][1] or 0.0) - v[j]) for j, (k, _) in enumerate(keys)]])
        ax.bar(np.arange(len(keys)) + (i - 1) * 0.27, v, 0.27, yerr=err, capsize=3, label=NAMES[meth])
    ax.set_xticks(np.arange(len(keys)), [lab for _, lab in keys])
    ax.set_ylim(0, 1.05)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=7)
    ax.set_title("Monophonic test stems: mean over stems [95 %]")
    return _png(fig)


def write(run: Path, out: Path) -> dict[str, Path]:
    """report.md / report.html / report.json of an evaluated run."""
    from edgekws.tasks.f0.pipeline import PLOTS, TRAIN

    metrics = read_json(run / METRICS, "metrics")
    info = read_json(run / RUN_INFO, "run info")
    train = read_json(run / TRAIN, "training summary")
    cfg = info["config"]
    data_name = (f"generated data ({metrics['data']}: harmonic tones with exact F0 in the MDB-stem-synth layout)"
                 if metrics.get("generated") else f"the dataset at {metrics['data']}")
    intro = [f"F0 estimation on {metrics['n_stems']} monophonic test stems and {metrics['n_mixtures']} two-voice "
             f"test mixtures from {data_name}.",
             f"Salience CNN: {train['params']:,} parameters ({', '.join(map(str, cfg['model']['channels']))} "
             f"channels) on a 4-channel harmonic CQT (h = 0.5, 1, 2, 3; 240 bins of 20 cents from 65.4 Hz; 10 ms "
             f"hop), {cfg['epochs']} epochs on {train['train_patches']} excerpts of {cfg['patch_frames']} frames, "
             f"best validation loss; voicing threshold {metrics['threshold']:.2f} (tuned on validation stems). "
             f"pYIN: librosa.pyin over the same range, {cfg['estimator']['pyin_frame_length']}-sample frames. "
             f"Combined: confident pYIN frames (voiced probability >= {cfg['estimator']['pyin_confidence']}) fill "
             "the CNN's unvoiced frames and replace its octave errors with the salience peak near pYIN's F0.",
             "Metrics: mir_eval 0.8.2 melody (RPA, RCA, OA within 50 cents) and multipitch; flatness = share of "
             "in-note frame steps where the estimate stays voiced and moves within 50 cents of the truth's move. "
             "Means over tracks with 95 % bootstrap intervals over tracks; one training run (seed "
             f"{cfg['seed']}), so the intervals cover the sampling of test tracks, not training variance.",
             "Not run: the offline anchors pesto-pitch and torchcrepe need PyTorch, which this project does not "
             "install (too heavy for CI); no published figure is quoted in their place."]
    tables: list[Table] = []
    if metrics["stems"]:
        tables.append(Table(f"Monophonic stems, % [95 %] ({metrics['n_stems']} stems)", ["method", *[c for _, c in STEM_COLS]],
                            [[NAMES[k], *[fmt(metrics["stems"][k][c]) for c, _ in STEM_COLS]]
                             for k in ("cnn", "pyin", "combined")]))
    mix = metrics.get("mixtures") or {}
    if mix:
        tables.append(Table(f"Two-voice mixtures, multi-F0 (mir_eval.multipitch), % [95 %] ({metrics['n_mixtures']} "
                            "mixtures)", ["method", "accuracy", "precision", "recall", "chroma accuracy"],
                            [[NAMES[k], *[fmt(mix["multi"][k][c]) for c in ("accuracy", "precision", "recall",
                                                                            "chroma_accuracy")]]
                             for k in ("cnn", "combined", "pyin")]))
        rows = [[NAMES[k], f"voice {v + 1} ({'lower' if v == 0 else 'upper'})",
                 *[fmt(r[c]) for c in ("rpa", "rca", "oa", "flatness")]]
                for k in ("cnn", "combined") for v, r in enumerate(mix["per_voice"][k])]
        tables.append(Table("Two-voice mixtures, per voice after assignment (lower candidate -> lower voice), % [95 %]",
                            ["method", "voice", "RPA", "RCA", "OA", "flatness"], rows))
    real = metrics.get("real")
    if real:
        tables.append(Table(f"Real recordings: {real['name']}, % [95 %] ({real['n']} notes)",
                            ["method", "RPA", "RCA", "OA"],
                            [[NAMES[k], *[fmt(real["scores"][k][c]) for c in ("rpa", "rca", "oa")]]
                             for k in ("cnn", "pyin", "combined")], note=real["note"]))
    plots = dict(np.load(run / PLOTS, allow_pickle=False)) if (run / PLOTS).is_file() else {}
    figures = []
    if metrics["stems"]:
        figures.append(Figure("accuracy", "Accuracy per method on the test stems", bar_plot(metrics)))
    if "stem_cnn" in plots:
        figures.append(Figure("contour_stem", "Predicted vs true contour, one test stem", stem_plot(plots)))
    if "mix_combined" in plots:
        figures.append(Figure("contour_mixture", "Salience and contours, one test mixture", mixture_plot(plots)))
    slim = {k: v for k, v in metrics.items() if k != "per_track"}
    return write_task_report(out, "f0: pitch-salience CNN, pYIN and the combined estimator", intro, tables,
                             findings(metrics), figures, {"metrics": slim, "config": cfg})
