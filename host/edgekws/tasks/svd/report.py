"""The svd report: frame F-score before / after transfer and the singing-only control, posteriors vs truth.

The published figures (frame F-score before and after transfer, as issue 18 quotes
them) were measured on real songs; they sit in their own table headed as anchors and
appear in the bar plot as markers labelled as theirs. Findings compare our models with
each other on the data named, by paired clip-bootstrap intervals on the same test clips.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgekws.tasks.base import Anchor
from edgekws.tasks.report import Figure, Table, write_task_report
from edgekws.tasks.runner import METRICS, RUN_INFO, read_json

SOURCE = "published singing-voice detection with transfer learning, as quoted in issue 18 (paper not named there)"
ANCHOR_DATA = "real songs with singing + accompaniment (their data, not ours)"
ANCHORS: tuple[Anchor, ...] = (
    Anchor("CNN trained on artificial speech-over-music, before transfer", "frame F-score", 0.895, SOURCE,
           ANCHOR_DATA),
    Anchor("same CNN fine-tuned on singing, after transfer", "frame F-score", 0.932, SOURCE, ANCHOR_DATA),
)
LABEL = {"pretrained": "before transfer (pre-trained on speech over music)",
         "transfer": "after transfer (fine-tuned on singing)",
         "scratch": "control: singing set only, from scratch"}


def _pct(v: float) -> str:
    return f"{100 * v:.1f}"


def _ci(s: dict[str, Any], key: str) -> str:
    lo, hi = s["ci"][key]
    return f"{_pct(s[key])} [{_pct(lo)}, {_pct(hi)}]"


def _diff(d: dict[str, Any]) -> str:
    lo, hi = d["ci"]
    return f"{100 * d['difference']:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}]"


def findings(m: dict[str, Any], data_name: str) -> list[str]:
    """Before vs after transfer, transfer vs the control, and whether the published order reproduces."""
    tt = m["target_test"]
    f = {k: v["smoothed"]["f"] for k, v in tt.items()}
    c = m["comparisons"]
    out = []
    d = c["transfer_vs_pretrained"]["f"]
    verdict = ("higher" if d["difference"] > 0 else "lower") if d["separated"] else "not separable from"
    out.append(f"On {data_name}: frame F-score before transfer {_pct(f['pretrained'])} %, after transfer "
               f"{_pct(f['transfer'])} % ({_diff(d)} points, paired clip bootstrap): after transfer is {verdict} "
               + ("before." if verdict == "not separable from" else "than before."))
    d2 = c["transfer_vs_scratch"]["f"]
    helped = ("the pre-training helped: fine-tuned beats the singing-only control"
              if d2["separated"] and d2["difference"] > 0 else
              "the pre-training hurt: the singing-only control beats the fine-tuned model"
              if d2["separated"] else
              "the pre-training is not shown to help: fine-tuned and the singing-only control are not separable")
    out.append(f"Control trained on the singing set alone: {_pct(f['scratch'])} %; transfer minus control "
               f"{_diff(d2)} points: {helped}.")
    published = ANCHORS[1].value > ANCHORS[0].value
    ours = d["separated"] and d["difference"] > 0
    out.append("The published order (after transfer above before) "
               + ("reproduces here." if ours == published else
                  "does NOT reproduce here (the difference is not separated from zero)." if not d["separated"] else
                  "does NOT reproduce here (after transfer is lower).")
               + f" Published: {_pct(ANCHORS[0].value)} -> {_pct(ANCHORS[1].value)} % on their real data; "
                 "the absolute levels are not comparable with ours (different data).")
    p = m["pretrain_test"]["pretrained"]["smoothed"]
    out.append(f"The pre-trained model on its own domain (speech over music, test split): F {_ci(p, 'f')} %; "
               f"on singing {_pct(f['pretrained'])} %: the domain gap speech -> singing costs "
               f"{100 * (p['f'] - f['pretrained']):.1f} points.")
    raw = {k: v["raw"]["f"] for k, v in tt.items()}
    out.append("Median smoothing over " f"{m['median_frames']} frames ({m['median_frames'] * m['hop_s']:.2f} s) "
               "changes F by " + ", ".join(f"{k} {100 * (f[k] - raw[k]):+.1f}" for k in tt) + " points.")
    return out


def posterior_plot(m: dict[str, Any]) -> bytes:
    """Posteriors of the three models on one test clip, the vocal truth shaded."""
    from edgekws.report.figures import _plt, _png

    plt = _plt()
    ex = m["example"]
    t = np.arange(len(ex["truth"])) * m["hop_s"]
    fig, ax = plt.subplots(figsize=(8.0, 3.4))
    ax.fill_between(t, 0, np.asarray(ex["truth"], float), step="mid", color="0.85", label="vocal (truth)")
    for name, p in ex["posteriors"].items():
        ax.plot(t, p, lw=1.0, label=LABEL.get(name, name))
    ax.axhline(m["threshold"], color="k", ls=":", lw=0.8)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("vocal posterior (unsmoothed)")
    ax.set_title(f"Test clip {ex['clip']}")
    ax.legend(fontsize=7, loc="upper right")
    return _png(fig)


def f_plot(m: dict[str, Any]) -> bytes:
    """Frame F-score (smoothed) of the three models with clip-bootstrap 95 % bars; the anchors as markers."""
    from edgekws.report.figures import _plt, _png

    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    names = list(m["target_test"])
    v = [m["target_test"][n]["smoothed"]["f"] for n in names]
    lo = [m["target_test"][n]["smoothed"]["ci"]["f"][0] for n in names]
    hi = [m["target_test"][n]["smoothed"]["ci"]["f"][1] for n in names]
    x = np.arange(len(names))
    ax.bar(x, v, 0.6, yerr=[np.subtract(v, lo).clip(0), np.subtract(hi, v).clip(0)], capsize=4, label="ours")
    ax.plot([0, 1], [a.value for a in ANCHORS], "kx--", ms=9, label="published (anchor, their data)")
    ax.set_xticks(x, [n.replace("pretrained", "before\n(pretrained)").replace("transfer", "after\n(transfer)")
                      for n in names])
    ax.set_ylim(0, 1)
    ax.set_ylabel("frame F-score (vocal)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    return _png(fig)


def write(run: Path, out: Path) -> dict[str, Path]:
    """report.md / report.html / report.json of an evaluated run."""
    m = read_json(run / METRICS, "metrics")
    info = read_json(run / RUN_INFO, "run info")
    train = read_json(run / "train.json", "training summary")
    cfg = info["config"]
    data_name = ("the generated singing test split (synthetic singing over synthesised accompaniment)"
                 if m.get("generated") else f"the test split of {m['target']} (Jamendo layout)")
    pre_name = ("generated speech over synthesised music (espeak-ng)" if m.get("pretrain_generated")
                else f"{m['pretrain']} (Jamendo layout)")
    intro = [f"Singing-voice detection with transfer learning: a frame-wise CNN ({train['models']['pretrained']['params']:,} "
             f"parameters) on {train['bands']}-band log-mel ({m['frontend']}, {1000 * m['hop_s']:.0f} ms hop) is "
             f"pre-trained on {pre_name} ({train['clips']['pretrain']['train']} training clips), scored on singing "
             f"(before), fine-tuned on the singing training split ({train['clips']['target']['train']} clips) at a "
             f"learning rate of {cfg['finetune_learning_rate']:g} and scored again (after); a control trains the same "
             "CNN on the singing training split alone.",
             f"Test: {m['n_test_clips']} clips, {m['n_test_frames']:,} frames of {data_name}, "
             f"{_pct(m['test_vocal_fraction'])} % vocal. Posteriors are median-filtered over {m['median_frames']} "
             f"frames and thresholded at {m['threshold']:g}; a frame is vocal in the truth when its centre lies in a "
             "'sing' segment of the .lab file.",
             "Precision, recall and F-score of the vocal class and accuracy are pooled over all test frames; the 95 % "
             "intervals resample whole clips (1,000 draws), because the frames of one clip are not independent. "
             "Two models are compared on the same clips by a paired bootstrap of the difference.",
             "One training run per model (seed " f"{cfg['seed']}): the intervals cover the sampling of test clips, not "
             "the spread between training runs.",
             "The published figures are anchors measured on real songs; they are never our results."]
    rows = []
    for name, r in m["target_test"].items():
        s = r["smoothed"]
        rows.append([LABEL[name], _ci(s, "f"), _ci(s, "precision"), _ci(s, "recall"), _ci(s, "accuracy"),
                     _pct(r["raw"]["f"])])
    p = m["pretrain_test"]["pretrained"]
    rows.append(["pre-trained model on its own domain (speech-over-music test split)", _ci(p["smoothed"], "f"),
                 _ci(p["smoothed"], "precision"), _ci(p["smoothed"], "recall"), _ci(p["smoothed"], "accuracy"),
                 _pct(p["raw"]["f"])])
    tables = [Table(f"Before / after transfer on {data_name}, % [95 %]",
                    ["model", "F-score", "precision", "recall", "accuracy", "F unsmoothed"], rows)]
    tables.append(Table("Paired differences on the same test clips, points [95 %]",
                        ["comparison", "F-score", "accuracy"],
                        [[k.replace("_vs_", " minus "), _diff(v["f"]), _diff(v["accuracy"])]
                         for k, v in m["comparisons"].items()]))
    tables.append(Table("Training", ["model", "started from", "excerpts", "epochs", "best epoch", "seconds"],
                        [[n, t["started_from"] or "random", f"{t['excerpts']:,}", str(t["epochs"]),
                          ", ".join(str(int(b)) for b in t["history"]["best_epoch"]), f"{t['seconds']:.0f}"]
                         for n, t in train["models"].items()],
                        note="Each model keeps the weights of its lowest validation-loss epoch (the valid split of "
                             "the set it trains on)."))
    real = m.get("real") or {}
    if real.get("available"):
        tables.append(Table(f"Real solo singing without ground truth: {real['source']}",
                            ["model", *[f"{c['file']} ({c['seconds']:.1f} s, {_pct(c['non_silent_fraction'])} % "
                                        "non-silent)" for c in real["clips"]],
                             "all non-silent frames", "near-silent frames called vocal"],
                            [[LABEL[n], *[_pct(c["detected"][n]) + " %" for c in real["clips"]],
                              _pct(real["detected"][n]) + " %", _pct(real["detected_in_silence"][n]) + " %"]
                             for n in real["detected"]],
                            note=real["measures"]))
    tables.append(Table("Published anchors (their data, not ours)", ["system", "metric", "value", "source / data"],
                        [[a.system, a.metric, f"{100 * a.value:.1f} %", f"{a.source}; {a.data}"] for a in ANCHORS]))
    fnd = findings(m, data_name)
    if real.get("available"):
        fnd.append(f"Real solo singing ({real['source']}): of the non-silent frames " + ", ".join(
            f"{n} {_pct(v)} %" for n, v in real["detected"].items()) + " are detected as voice; of the near-silent "
            "frames " + ", ".join(f"{n} {_pct(v)} %" for n, v in real["detected_in_silence"].items())
            + ". Two recordings, no annotation: a sanity check that the detectors fire on real singing, not an F-score.")
    else:
        fnd.append("Real solo singing: " + (real.get("reason") or "not scored") + ".")
    figures = [Figure("posteriors", "Vocal posteriors vs truth on one test clip", posterior_plot(m)),
               Figure("fscore", "Frame F-score before / after transfer and the control (ours) with the anchors",
                      f_plot(m))]
    return write_task_report(out, "svd: singing-voice detection with transfer learning (speech -> singing)",
                             intro, tables, fnd, figures,
                             {"metrics": m, "anchors": [a.__dict__ for a in ANCHORS], "config": cfg})
