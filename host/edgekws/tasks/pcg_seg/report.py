"""The pcg-seg report: F1 per input type, the data-efficiency curve, segmentation examples; the anchor apart.

Springer et al.'s LR-HSMM figure was measured on their real recordings, so it
sits in its own table as an anchor and in the curve as a dashed line labelled as
theirs. Our logistic-regression row is an in-house stand-in on our data (their
features and per-state models differ) and is labelled so wherever it appears.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgekws.tasks.base import Anchor
from edgekws.tasks.report import Figure, Table, write_task_report
from edgekws.tasks.runner import METRICS, RUN_INFO, read_json

SPRINGER = ("Springer, Tarassenko, Clifford: Logistic regression-HSMM-based heart sound segmentation, "
            "IEEE Trans. Biomed. Eng. 63(4), 2016")
ANCHORS: tuple[Anchor, ...] = (
    Anchor("LR-HSMM (Springer et al. 2016)", "S1/S2 detection F1 (sound centres within +-60 ms)", 0.956,
           SPRINGER, "their real heart-sound recordings (not ours)"),
)
LABELS = {"topo": "TopSeg: topological features + TCN", "topo+envelope": "topological + envelope features + TCN",
          "envelope": "envelope + TCN (baseline)", "logmel": "log-mel (pcg-logmel-16) + TCN (baseline)",
          "logreg": "logistic regression + same decoder (in-house LR-HSMM stand-in)"}
STATE_COLOURS = ["0.9", "tab:red", "tab:orange", "tab:blue", "tab:green"]  # unannotated, S1, systole, S2, diastole


def _pct(v: float) -> str:
    return f"{100 * v:.1f}"


def _ci(v: float, ci: list[float]) -> str:
    return f"{_pct(v)} [{_pct(ci[0])}, {_pct(ci[1])}]"


def _inputs(metrics: dict[str, Any]) -> list[str]:
    return list(dict.fromkeys(v["input"] for v in metrics["variants"].values()))


def _percents(metrics: dict[str, Any]) -> list[int]:
    return sorted({int(v["percent"]) for v in metrics["variants"].values()})


def curve_plot(metrics: dict[str, Any]) -> bytes:
    """S1/S2 F1 vs percent of training subjects per input (bars: record bootstrap 95 %), the anchor dashed."""
    from edgekws.report.figures import _plt, _png

    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    pcs = _percents(metrics)
    for i, inp in enumerate(_inputs(metrics)):
        pts = [metrics["variants"][f"{inp}-{p}"] for p in pcs if f"{inp}-{p}" in metrics["variants"]]
        x = np.array([r["percent"] for r in pts], float) * (1 + 0.02 * (i - 1.5))
        v = np.array([r["f1"] for r in pts])
        err = np.array([[max(0.0, a - r["f1_ci"][0]) for a, r in zip(v, pts, strict=True)],
                        [max(0.0, r["f1_ci"][1] - a) for a, r in zip(v, pts, strict=True)]])
        ax.errorbar(x, v, yerr=err, marker="o", capsize=3, label=LABELS.get(inp, inp))
    ax.axhline(ANCHORS[0].value, color="k", ls="--", alpha=0.6, label="LR-HSMM, Springer 2016 (anchor, their data)")
    ax.set_xscale("log")
    ax.set_xticks(pcs, [f"{p} %" for p in pcs])
    ax.set_xlabel("training subjects")
    ax.set_ylabel("S1/S2 F1 (+-60 ms)")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title("Data efficiency")
    return _png(fig)


def example_plot(ex: dict[str, Any]) -> bytes:
    """One test record: its envelope, then the true states and each segmenter's decoded states as colour bands."""
    from edgekws.report.figures import _plt, _png

    plt = _plt()
    rows = [("true", ex["true"]), *ex["pred"].items()]
    fig, axes = plt.subplots(len(rows) + 1, 1, figsize=(8.0, 1.0 + 0.45 * (len(rows) + 1)), sharex=True,
                             gridspec_kw={"height_ratios": [3] + [1] * len(rows)})
    t = ex["t0_s"] + np.arange(len(ex["true"])) * ex["hop_s"]
    if ex["envelope"]:
        axes[0].plot(t, ex["envelope"], "k", lw=0.8)
    axes[0].set_ylabel("envelope", fontsize=7)
    axes[0].set_title(f"{ex['id']}: S1 red, systole orange, S2 blue, diastole green, grey unannotated", fontsize=8)
    from matplotlib.colors import ListedColormap

    cmap = ListedColormap(STATE_COLOURS)
    for ax, (name, seq) in zip(axes[1:], rows, strict=True):
        ax.imshow(np.asarray(seq)[None, :], aspect="auto", cmap=cmap, vmin=0, vmax=4, interpolation="nearest",
                  extent=(t[0] - ex["hop_s"] / 2, t[-1] + ex["hop_s"] / 2, 0, 1))
        ax.set_yticks([])
        ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=7)
    axes[-1].set_xlabel("time (s)")
    return _png(fig)


def findings(metrics: dict[str, Any], data_name: str) -> list[str]:
    """Input types compared at the largest fraction; the decoder's effect; the curve's ends; the stand-in named."""
    out = []
    v = metrics["variants"]
    big, small = max(_percents(metrics)), min(_percents(metrics))
    for p in sorted(_percents(metrics), reverse=True):
        for mine, other in (("topo", "envelope"), ("topo", "logmel"), ("topo", "logreg"),
                            ("topo+envelope", "envelope")):
            if f"{mine}-{p}" in v and f"{other}-{p}" in v:
                a, b = v[f"{mine}-{p}"], v[f"{other}-{p}"]
                apart = a["f1_ci"][0] > b["f1_ci"][1] or b["f1_ci"][0] > a["f1_ci"][1]
                verdict = (("higher than" if a["f1"] > b["f1"] else "lower than") if apart
                           else "not separated from (intervals overlap)")
                out.append(f"{p} % of training subjects on {data_name}: {LABELS[mine]} F1 "
                           f"{_ci(a['f1'], a['f1_ci'])} % {verdict} {LABELS[other]} {_ci(b['f1'], b['f1_ci'])} %.")
    at = {inp: v[f"{inp}-{big}"] for inp in _inputs(metrics) if f"{inp}-{big}" in v}
    for inp, r in at.items():
        out.append(f"Decoder ({inp}, {big} %): per-frame argmax F1 {_pct(r['f1_argmax'])} % with "
                   f"{r['order_violations_argmax']} order violations -> decoded {_pct(r['f1'])} % with "
                   f"{r['order_violations_decoded']}.")
    for inp in _inputs(metrics):
        if f"{inp}-{small}" in v and f"{inp}-{big}" in v and small != big:
            a, b = v[f"{inp}-{small}"], v[f"{inp}-{big}"]
            out.append(f"{LABELS.get(inp, inp)}: {small} % ({a['subjects']} subjects) F1 {_ci(a['f1'], a['f1_ci'])} % "
                       f"-> {big} % ({b['subjects']} subjects) {_ci(b['f1'], b['f1_ci'])} %.")
    out.append("The logistic-regression row is our own stand-in (envelope features with +-2 frames of context, one "
               "multinomial model, the same duration decoder), not Springer's LR-HSMM; their 95.6 % is their "
               "figure on their recordings.")
    return out


def write(run: Path, out: Path) -> dict[str, Path]:
    """report.md / report.html / report.json of an evaluated run."""
    metrics = read_json(run / METRICS, "metrics")
    info = read_json(run / RUN_INFO, "run info")
    train = read_json(run / "train.json", "training summary")
    cfg = info["config"]
    if metrics.get("data_generated"):
        data_name = "generated data"
        data_line = (f"The data is GENERATED ({metrics['data']}: synthetic phonocardiograms of edgekws.tasks.pcg.synth "
                     "in the PhysioNet 2016 layout with exact CirCor-style state annotations). No registry package "
                     "(PyPI, npm, Debian) ships real heart-sound recordings or segmentations "
                     "(../shared/data/REGISTRY_AUDIO.md), so there is no real-data figure beside it.")
    else:
        data_name = f"the dataset at {metrics['data']}"
        data_line = f"Data: the annotated records at {metrics['data']} (PhysioNet 2016 layout with .tsv states)."
    pcs = _percents(metrics)
    intro = [data_line,
             f"Test: {metrics['test_records']} records of subjects never seen in training "
             f"({metrics['test_frames_annotated']:,} annotated frames at 50 frames/s). Every segmenter is decoded by "
             "the same order- and duration-constrained Viterbi (S1 -> systole -> S2 -> diastole; durations from the "
             "training annotations of its subset).",
             f"S1/S2 F1: a predicted sound is right when its centre lies within +-{metrics['tolerance_s'] * 1000:.0f} ms "
             "of an unclaimed annotated sound of the same kind; frame accuracy over annotated frames. Intervals: "
             "95 % bootstrap over test records (1,000 draws).",
             f"Every TCN: {cfg['model']['channels']} channels, dilations {', '.join(map(str, cfg['model']['dilations']))}"
             f", {cfg['epochs']} epochs (more on small subsets: at least {cfg.get('min_steps', 0)} steps), Adam {cfg['learning_rate']:g}, epoch chosen on validation subjects, seed "
             f"{cfg['seed']}; one training run per cell, so the intervals cover test sampling, not training noise."]
    v = metrics["variants"]
    inputs = _inputs(metrics)
    tables = [
        Table(f"S1/S2 F1 % [95 %] per input type and training fraction, on {data_name}",
              ["segmenter", "parameters", *[f"{p} % ({train['fractions'][str(p)]['subjects']} subjects)" for p in pcs]],
              [[LABELS.get(i, i), f"{metrics['params'][i]:,}" if i in metrics["params"] else "-",
                *[_ci(v[f"{i}-{p}"]["f1"], v[f"{i}-{p}"]["f1_ci"]) if f"{i}-{p}" in v else "-" for p in pcs]]
               for i in inputs]),
        Table(f"At {max(pcs)} % of training subjects: detail",
              ["segmenter", "F1 %", "TP / FP / FN", "frame accuracy % [95 %]", "argmax F1 % (no decoder)",
               "order violations argmax / decoded"],
              [[LABELS.get(i, i), _pct(r["f1"]), f"{r['tp']} / {r['fp']} / {r['fn']}",
                _ci(r["accuracy"], r["accuracy_ci"]), _pct(r["f1_argmax"]),
                f"{r['order_violations_argmax']} / {r['order_violations_decoded']}"]
               for i in inputs if (r := v.get(f"{i}-{max(pcs)}"))]),
        Table("Published anchor (their data, not ours)", ["system", "metric", "value", "source / data"],
              [[a.system, a.metric, _pct(a.value) + " %", f"{a.source}; {a.data}"] for a in ANCHORS]),
    ]
    figures = [Figure("curve", "S1/S2 F1 vs training subjects (ours), the LR-HSMM anchor dashed (their data)",
                      curve_plot(metrics))]
    for k, ex in enumerate(metrics.get("examples", [])):
        figures.append(Figure(f"example{k + 1}", f"Segmentation example {k + 1} ({ex['id']}): true vs decoded states "
                              f"at {max(pcs)} %", example_plot(ex)))
    slim = {k: val for k, val in metrics.items() if k != "examples"}
    return write_task_report(out, "pcg-seg: heart-sound segmentation (TopSeg: topological features + TCN + "
                             "duration-constrained decoding)", intro, tables, findings(metrics, data_name), figures,
                             {"metrics": slim, "anchors": [a.__dict__ for a in ANCHORS], "config": cfg})
