"""The sed-ctc report: segment-based F1 / error rate of each method on the named data, findings, plots.

The published system (Hou et al. 2019) was measured on sequences of real Freesound
clips (41 classes); issue 15 quotes no figure of it, and we quote none: its claim
(CTC + clustering far better than a weakly labelled system) is stated as the
authors', and our findings say whether our ordering on our data agrees, with
whether the bootstrap intervals separate the methods.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgekws.tasks.report import Figure, Table, write_task_report
from edgekws.tasks.runner import METRICS, RUN_INFO, read_json
from edgekws.tasks.sed_ctc.pipeline import EXAMPLE
from edgekws.tasks.tagging_ctc import real
from edgekws.tasks.tagging_ctc.config import VARIANTS

PAPER = ("Hou, Kong, Li, Plumbley: Sound event detection with sequentially labelled data based on connectionist "
         "temporal classification and unsupervised clustering (ICASSP 2019)")
CLAIM = ("trained on sequentially labelled data (41 classes of real sounds), CTC + unsupervised clustering comes "
         "close to a system trained on strongly labelled data and is far better than one trained on weakly "
         "labelled data")


def _cell(seg: dict[str, Any], key: str) -> str:
    v = seg[key]
    lo, hi = seg[f"{key}_ci"]
    return "-" if v is None or np.isnan(v) else f"{v:.3f} [{lo:.3f}, {hi:.3f}]"


def ranking_findings(methods: dict[str, dict[str, Any]], res: str, data_name: str) -> list[str]:
    """Best CTC+clustering method vs best weak baseline on ``res``-second segments: which is better on F1 and
    on error rate, whether their 95 % intervals overlap, and whether that agrees with the published claim."""
    ctc = {k: v for k, v in methods.items() if v["kind"] == "ctc-clusters"}
    weak = {k: v for k, v in methods.items() if v["kind"] == "weak"}
    if not ctc or not weak:
        return []
    a = max(ctc, key=lambda k: ctc[k]["segments"][res]["f1"])
    b = max(weak, key=lambda k: weak[k]["segments"][res]["f1"])
    sa, sb = methods[a]["segments"][res], methods[b]["segments"][res]
    out = []
    for key, better_high, what in (("f1", True, "F1"), ("error_rate", False, "error rate")):
        va, vb = sa[key], sb[key]
        (la, ha), (lb, hb) = sa[f"{key}_ci"], sb[f"{key}_ci"]
        separated = ha < lb or hb < la
        ctc_better = va > vb if better_high else va < vb
        winner, loser = (a, b) if ctc_better else (b, a)
        rel = "better than" if separated else "not separated from (95 % intervals overlap)"
        out.append(f"{res} s segments, {what}: {winner} {methods[winner]['segments'][res][key]:.3f} is {rel} "
                   f"{loser} {methods[loser]['segments'][res][key]:.3f} on {data_name}. "
                   + ("This agrees with the published claim (CTC + clustering beats the weakly labelled system)."
                      if ctc_better and separated else
                      "The published claim (CTC + clustering beats the weakly labelled system) is NOT reproduced "
                      "here." if not ctc_better else
                      "The direction agrees with the published claim, but this data cannot separate them."))
    return out


def _ms(seconds: float | None) -> str:
    return "?" if seconds is None else f"{1000 * seconds:.0f} ms"


def ablation_findings(methods: dict[str, dict[str, Any]], res: str, truth_mean_s: float | None = None) -> list[str]:
    """What the clustering stage adds over the CTC best path alone (same model, same spikes)."""
    out = []
    for v in methods.values():
        spikes = next((s for s in methods.values() if s["kind"] == "ctc-spikes" and s["variant"] == v["variant"]),
                      None)
        if v["kind"] != "ctc-clusters" or spikes is None:
            continue
        c, s = v["segments"][res], spikes["segments"][res]
        out.append(f"Clustering stage ({v['variant']}, {res} s segments): F1 {s['f1']:.3f} -> {c['f1']:.3f}, "
                   f"error rate {s['error_rate']:.3f} -> {c['error_rate']:.3f} against the CTC best path alone "
                   f"(its {spikes['events']} best-path runs last {_ms(spikes.get('mean_event_s'))} on average, the "
                   f"clustered events {_ms(v.get('mean_event_s'))}, the true events {_ms(truth_mean_s)}).")
    for name, v in methods.items():
        seg = v["segments"][res]
        if v["kind"] == "weak" and seg["insertion_rate"] > 0.5:
            out.append(f"{name} marks far more than the events as active ({res} s segments: insertion rate "
                       f"{seg['insertion_rate']:.3f}, precision {seg['precision']:.3f}, recall {seg['recall']:.3f}): "
                       "its frame probabilities stay high through the clip, so thresholding them does not localise "
                       "events" + (" (an average-pooled head is trained to raise every frame of a clip that has the "
                                   "class)." if VARIANTS.get(v["variant"], (False, ""))[1] == "gap" else "."))
        if v["kind"] == "diagnostic":
            d = v["segments"][res]
            out.append(f"{name} (reads the test labels; not a system): with a spike at every true event's centre the "
                       f"clustering stage reaches F1 {d['f1']:.3f}, error rate {d['error_rate']:.3f} on {res} s "
                       "segments: the part of the CTC system's error that is not the spikes' fault.")
    return out


def example_plot(metrics: dict[str, Any], example: dict[str, np.ndarray]) -> bytes:
    """The first test clip: log-mel features, frame outputs, and the true vs each method's events."""
    from edgekws.report.figures import _plt, _png

    plt = _plt()
    labels = metrics["classes"]
    methods = metrics["methods"]
    rows = [("truth", metrics["example_truth"])] + [(k, v["example"]) for k, v in methods.items()]
    outputs = [k for k in example if k != "features"]
    fig, axes = plt.subplots(2 + len(outputs), 1, figsize=(9.5, 2.2 + 1.3 * (1 + len(outputs)) + 0.3 * len(rows)),
                             sharex=True, gridspec_kw={"height_ratios": [2.0] + [1.2] * len(outputs)
                                                       + [0.35 * len(rows) + 0.4]})
    timing = metrics["timing"]
    feats = example["features"]
    t0 = (timing["win_s"] - timing["hop_s"]) / 2
    t_end = t0 + len(feats) * timing["hop_s"]
    axes[0].imshow(feats.T, origin="lower", aspect="auto", extent=(t0, t_end, 0, feats.shape[1]), cmap="magma")
    axes[0].set_ylabel("log-mel band")
    axes[0].set_title("first test clip (not selected): features, frame outputs, events")
    colors = plt.get_cmap("tab10")
    step = timing["hop_s"] * timing["ratio"]
    for ax, key in zip(axes[1:-1], outputs, strict=False):
        out = example[key]
        t = t0 + step * (np.arange(len(out)) + 0.5)
        for c, name in enumerate(labels):
            ax.plot(t, out[:, c], color=colors(c % 10), lw=1.2, label=name)
        if out.shape[1] > len(labels):
            ax.plot(t, out[:, -1], color="0.6", lw=0.8, ls=":", label="blank")
        ax.set_ylim(0, 1.02)
        ax.set_ylabel(key.replace(".", "\n"), fontsize=7)
    axes[1].legend(fontsize=6, ncol=min(len(labels) + 1, 5), loc="upper right")
    ax = axes[-1]
    for r, (_name, events) in enumerate(rows):
        y = len(rows) - 1 - r
        for e in events:
            c = labels.index(e["label"])
            ax.barh(y, e["offset"] - e["onset"], left=e["onset"], height=0.7, color=colors(c % 10))
            ax.text(e["onset"], y, e["label"], fontsize=5, va="center")
    ax.set_yticks(range(len(rows)), [n for n, _ in reversed(rows)], fontsize=7)
    ax.set_xlabel("time (s)")
    ax.set_xlim(0, metrics["clip_seconds"])
    return _png(fig)


def scores_plot(metrics: dict[str, Any]) -> bytes:
    """F1 and error rate per method and segment length, with the bootstrap intervals."""
    from edgekws.report.figures import _plt, _png

    plt = _plt()
    methods = metrics["methods"]
    names = list(methods)
    resolutions = list(next(iter(methods.values()))["segments"])
    fig, axes = plt.subplots(1, 2, figsize=(9.6, 3.4))
    width = 0.8 / len(resolutions)
    x = np.arange(len(names))
    for ax, key, title in ((axes[0], "f1", "segment-based F1 (higher is better)"),
                           (axes[1], "error_rate", "segment-based error rate (lower is better)")):
        for i, res in enumerate(resolutions):
            vals = np.array([methods[n]["segments"][res][key] for n in names])
            ci = np.array([methods[n]["segments"][res][f"{key}_ci"] for n in names])
            ax.bar(x + (i - (len(resolutions) - 1) / 2) * width, vals, width,
                   yerr=[np.maximum(vals - ci[:, 0], 0), np.maximum(ci[:, 1] - vals, 0)], capsize=2,
                   label=f"{res} s segments")
        ax.set_xticks(x, names, rotation=15, fontsize=7)
        ax.set_title(title, fontsize=9)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=7)
    return _png(fig)


def write(run: Path, out: Path) -> dict[str, Path]:
    """report.md / report.html / report.json of an evaluated sed-ctc run."""
    metrics = read_json(run / METRICS, "metrics")
    info = read_json(run / RUN_INFO, "run info")
    train = read_json(run / "train.json", "training summary")
    with np.load(run / EXAMPLE) as z:
        example = {k: z[k] for k in z.files}
    cfg = info["config"]
    methods = metrics["methods"]
    head_res = f"{metrics['headline_segment_s']:g}"
    resolutions = list(next(iter(methods.values()))["segments"])
    data_name = real.data_name(metrics)
    det = cfg["detect"]
    intro = [f"Sound event detection from sequentially labelled clips: {metrics['n_test']} composed test clips of "
             f"{metrics['clip_seconds']:g} s with {metrics['ref_events']} events over {len(metrics['classes'])} "
             f"classes, from {data_name}. Training saw only each clip's ordered labels (CTC) or its set of labels "
             "(pooled heads); the onsets/offsets used here for scoring come from where the composer placed each event.",
             f"Trained on {train['clips']['train']} composed clips ({train['clips']['val']} for validation, best "
             f"epoch by validation loss) for {cfg['epochs']} epochs; {train['frames']} frames x {train['bands']} "
             f"log-mel bands, one model frame per {metrics['timing']['ratio']} input frames "
             f"({1000 * metrics['timing']['hop_s'] * metrics['timing']['ratio']:g} ms).",
             f"Methods: `+clusters` = CTC spikes grown into events by unsupervised clustering (activity by two-means "
             f"against the clip's quietest {100 * det['quiet_fraction']:g} % of frames, runs cut between neighbouring "
             f"spikes by nearest prototype, pieces bridged across {1000 * det['bridge_s']:g} ms); `+spikes` = the "
             f"CTC best path alone (ablation); `+threshold` = the weakly labelled baseline (the same network with "
             f"a pooled head, frame probabilities > {det['threshold']:g}, median filter of {det['median_frames']} "
             "model frames). Nothing was tuned on test labels.",
             "Metrics: sed_eval 0.2.1 segment-based overall (micro) F1 and error rate; 95 % intervals: 1000-sample "
             "bootstrap over test clips."]
    header = ["method", "model", "params", "events"]
    for res in resolutions:
        header += [f"F1 @ {res} s [95 %]", f"ER @ {res} s [95 %]"]
    header.append(f"class-wise F1 @ {head_res} s")
    rows = []
    for name, v in methods.items():
        params = metrics["params"].get(v["variant"])
        row = [name, v["method"], f"{params:,}" if params else "-", str(v["events"])]
        for res in resolutions:
            row += [_cell(v["segments"][res], "f1"), _cell(v["segments"][res], "error_rate")]
        row.append(f"{v['segments'][head_res]['classwise_f1']:.3f}")
        rows.append(row)
    ours = Table(f"Our comparison on {data_name}", header, rows,
                 note=f"{metrics['ref_events']} true events in {metrics['n_test']} clips.")
    anchors = Table("Published reference (their data, not ours)", ["system", "claim", "source"],
                    [["CTC + unsupervised clustering vs weakly labelled SED", CLAIM, PAPER]],
                    note="No published figure is quoted: the comparison below is of the relative order only.")
    findings = []
    for res in resolutions:
        findings += ranking_findings(methods, res, "this data")
    findings += ablation_findings(methods, head_res, metrics.get("ref_mean_event_s"))
    figures = [Figure("example", "A test clip: true vs predicted events", example_plot(metrics, example)),
               Figure("scores", "Segment-based F1 and error rate per method", scores_plot(metrics))]
    return write_task_report(out, "sed-ctc: sound event detection from sequentially labelled clips (CTC + "
                             "clustering vs weak labels)", intro, [ours, anchors], findings, figures,
                             {"metrics": metrics, "published": {"source": PAPER, "claim": CLAIM}, "config": cfg})
