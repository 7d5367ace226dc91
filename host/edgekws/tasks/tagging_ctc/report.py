"""The tagging-ctc report: our comparison on the named data, the published anchors apart, honest findings.

The published figures come from other data (sequences composed from real
Freesound clips, 41 classes), so they sit in their own table headed as anchors and
the findings compare only the *relative order* of the heads, stated with whether
our bootstrap intervals separate the variants.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgekws.tasks.base import Anchor
from edgekws.tasks.report import Figure, Table, write_task_report
from edgekws.tasks.runner import METRICS, RUN_INFO, read_json
from edgekws.tasks.tagging_ctc import real

CTC_PAPER = ("Hou, Kong, Li: Audio tagging with connectionist temporal classification model using "
             "sequential labelled data (2018)")
GLU_PAPER = ("Hou, Kong, Wang, Li: Polyphonic audio tagging with sequentially labelled data using CRNN with "
             "learnable gated linear units (DCASE 2018 Workshop)")
ANCHOR_DATA = "the authors' sequentially labelled data (not ours)"
#: An AUC interval entirely above this is at the ceiling: differences between such variants are not findings.
SATURATED = 0.99

ANCHORS: tuple[Anchor, ...] = (
    Anchor("crnn-ctc", "macro AUC", 0.986, CTC_PAPER, ANCHOR_DATA),
    Anchor("crnn-gmp", "macro AUC", 0.908, CTC_PAPER, ANCHOR_DATA),
    Anchor("crnn-gap", "macro AUC", 0.815, CTC_PAPER, ANCHOR_DATA),
    Anchor("glu-ctc", "macro AUC", 0.882, GLU_PAPER, ANCHOR_DATA),
    Anchor("glu-gmp", "macro AUC", 0.803, GLU_PAPER, ANCHOR_DATA),
    Anchor("glu-gap", "macro AUC", 0.766, GLU_PAPER, ANCHOR_DATA),
)


def _auc_cell(v: dict[str, Any]) -> str:
    if v.get("macro_auc") is None:
        return "-"
    lo, hi = v["auc_ci"]
    return f"{v['macro_auc']:.3f} [{lo:.3f}, {hi:.3f}]"


def _order_cell(v: dict[str, Any]) -> str:
    o = v.get("order")
    if not o:
        return "- (no order from a pooled head)"
    return f"{100 * o['order_accuracy']:.1f} % [{100 * o['ci_low']:.1f}, {100 * o['ci_high']:.1f}] " \
           f"({o['order_correct']}/{o['n']})"


def order_findings(variants: dict[str, dict[str, Any]], data_name: str) -> list[str]:
    """Per family (crnn, glu): our ranking of the heads by macro AUC, whether intervals separate neighbours,
    and whether the published order CTC > GMP > GAP holds here."""
    out = []
    for family in ("crnn", "glu"):
        mine = {k: v for k, v in variants.items() if k.startswith(family + "-") and v.get("macro_auc") is not None}
        if len(mine) < 2:
            continue
        ranked = sorted(mine, key=lambda k: -mine[k]["macro_auc"])
        parts = []
        for a, b in zip(ranked, ranked[1:], strict=False):
            separated = mine[a]["auc_ci"][0] > mine[b]["auc_ci"][1]
            parts.append(f"{a} {mine[a]['macro_auc']:.3f} {'>' if separated else '≈'} ")
        text = "".join(parts) + f"{ranked[-1]} {mine[ranked[-1]]['macro_auc']:.3f}"
        published = [f"{family}-{h}" for h in ("ctc", "gmp", "gap") if f"{family}-{h}" in mine]
        verdict = "matches" if ranked == published else "does NOT match"
        out.append(f"{family.upper()} on {data_name}: {text} ('>' = bootstrap 95 % intervals do not overlap, "
                   f"'≈' = they do). This ranking {verdict} the published order {' > '.join(published)}.")
    saturated = [k for k, v in variants.items() if v.get("auc_ci") and (v["auc_ci"][0] or 0.0) >= SATURATED]
    if len(saturated) >= 2:
        out.append(f"{len(saturated)} of {len(variants)} variants ({', '.join(saturated)}) reach a macro AUC whose "
                   f"95 % interval lies above {SATURATED} on {data_name}: tagging AUC saturates here and cannot rank "
                   "them; the order accuracy of the CTC heads is what separates models on this data.")
    return out


def auc_plot(variants: dict[str, dict[str, Any]]) -> bytes:
    """Our macro AUC per variant with its interval (bars) and the published anchor (hollow marker)."""
    from edgekws.report.figures import _plt, _png

    plt = _plt()
    names = list(variants)
    fig, ax = plt.subplots(figsize=(max(5.0, 1.0 * len(names) + 2), 3.8))
    x = np.arange(len(names))
    vals = [variants[n].get("macro_auc") or 0.0 for n in names]
    err = np.array([[max(0.0, v - (variants[n]["auc_ci"][0] or v)) for n, v in zip(names, vals, strict=True)],
                    [max(0.0, (variants[n]["auc_ci"][1] or v) - v) for n, v in zip(names, vals, strict=True)]])
    ax.bar(x, vals, 0.6, yerr=err, capsize=3, color=["tab:blue" if "ctc" in n else "tab:gray" for n in names],
           label="ours (bootstrap 95 % interval)")
    anchors = {a.system: a.value for a in ANCHORS}
    ax.scatter([i for i, n in enumerate(names) if n in anchors], [anchors[n] for n in names if n in anchors],
               facecolors="none", edgecolors="tab:red", s=60, zorder=3, label="published anchor (their data)")
    ax.set_xticks(x, names, rotation=20)
    ax.set_ylim(0.5, 1.0)
    ax.set_ylabel("macro tagging AUC")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    ax.set_title("CTC vs pooling heads")
    return _png(fig)


def curves_plot(train: dict[str, Any]) -> bytes:
    """Validation loss per epoch of each variant (CTC and BCE losses on their own scales: two panels)."""
    from edgekws.report.figures import _plt, _png

    plt = _plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9.6, 3.4))
    for name, v in train["variants"].items():
        h = v["history"]
        ax = a1 if name.endswith("ctc") else a2
        ax.plot(np.arange(1, len(h["loss"]) + 1), h["loss"], label=f"{name} train")
        ax.plot(np.arange(1, len(h["val_loss"]) + 1), h["val_loss"], ls="--", label=f"{name} val")
    a1.set_title("CTC loss")
    a2.set_title("binary cross-entropy (pooled heads)")
    for a in (a1, a2):
        a.set_xlabel("epoch")
        a.grid(alpha=0.3)
        a.legend(fontsize=6)
    return _png(fig)


def write(run: Path, out: Path) -> dict[str, Path]:
    """report.md / report.html / report.json of an evaluated run."""
    metrics = read_json(run / METRICS, "metrics")
    info = read_json(run / RUN_INFO, "run info")
    train = read_json(run / "train.json", "training summary")
    variants = metrics["variants"]
    data_name = real.data_name(metrics)
    cfg = info["config"]
    intro = [f"Audio tagging with sequentially labelled clips: {metrics['n_test']} composed test clips of "
             f"{cfg['compose']['min_events']}-{cfg['compose']['max_events']} events over "
             f"{len(metrics['classes'])} classes, from {data_name}.",
             f"Trained on {train['clips']['train']} composed clips ({train['clips']['val']} for validation, best "
             f"epoch by validation loss) for {cfg['epochs']} epochs; features {train['frames']} frames x "
             f"{train['bands']} log-mel bands. AUC intervals: 200-sample bootstrap over clips; order accuracy "
             "(best-path CTC decoding equals the true sequence): Wilson 95 % interval.",
             "The published figures are anchors measured on the authors' data; they are never our results."]
    rows = [[name, v["head"], "GLU" if v["glu"] else "ReLU", f"{v['params']:,}", _auc_cell(v), _order_cell(v),
             f"{v['order']['label_error_rate']:.3f}" if v.get("order") else "-"] for name, v in variants.items()]
    ours = Table(f"Our comparison on {data_name}",
                 ["variant", "head", "gate", "params", "macro AUC [95 %]", "order accuracy [95 %]",
                  "label error rate"], rows)
    anchors = Table("Published anchors (their data, not ours)", ["variant", "metric", "value", "source"],
                    [[a.system, a.metric, f"{a.value:.3f}", a.source] for a in ANCHORS])
    findings = order_findings(variants, "this data")
    ctc = {k: v for k, v in variants.items() if v.get("order")}
    for k, v in ctc.items():
        findings.append(f"{k}: the decoded label sequence is exactly right for {v['order']['order_correct']} of "
                        f"{v['order']['n']} test clips ({_order_cell(v)}).")
    figures = [Figure("auc", "Macro tagging AUC: ours (bars) vs published anchors (circles)", auc_plot(variants)),
               Figure("curves", "Training curves", curves_plot(train))]
    return write_task_report(out, "tagging-ctc: CTC vs global pooling on sequentially labelled clips", intro,
                             [ours, anchors], findings, figures,
                             {"metrics": metrics, "anchors": [a.__dict__ for a in ANCHORS], "config": cfg})
