"""The geo-tagging report: our five methods on the named data, Geo-ATBench's figures apart as anchors.

The published figures are ranges over the benchmark's models on real geo-tagged
recordings (28 events); ours come from the generated layout (no geo-tagged real
audio exists in any registry this project can use), so the findings compare only the
*relative order* the benchmark reports (context-aware above audio-only), each
difference with its paired bootstrap interval, and say plainly when it does not hold.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgekws.tasks.base import Anchor
from edgekws.tasks.geo_tagging.config import CONTEXT_CATEGORIES
from edgekws.tasks.geo_tagging.synth import CATALOGUE
from edgekws.tasks.report import Figure, Table, write_task_report
from edgekws.tasks.runner import METRICS, RUN_INFO, read_json

GEO_ATBENCH = ("Geo-ATBench, audio tagging with geospatial context (28 events, 11 POI context categories); "
               "figures as quoted in this project's issue 18: ranges over the benchmark's models")
ANCHOR_DATA = "Geo-ATBench's real geo-tagged recordings (not ours)"

ANCHORS: tuple[Anchor, ...] = (
    Anchor("audio-only, lowest model", "mAP", 0.77, GEO_ATBENCH, ANCHOR_DATA),
    Anchor("audio-only, highest model", "mAP", 0.82, GEO_ATBENCH, ANCHOR_DATA),
    Anchor("with geospatial context, lowest model", "mAP", 0.82, GEO_ATBENCH, ANCHOR_DATA),
    Anchor("with geospatial context, highest model", "mAP", 0.85, GEO_ATBENCH, ANCHOR_DATA),
)
FUSIONS = ("feature-fusion", "representation-fusion", "decision-fusion")
WHERE = {"audio-only": "- (no context)", "context-only": "- (no audio)",
         "feature-fusion": "input: stacked on the log-mel as channels",
         "representation-fusion": "pooled embedding, before the head",
         "decision-fusion": "outputs: fitted weighted sum of the two baselines' logits"}


def data_name(metrics: dict[str, Any]) -> str:
    """What the figures were measured on, as the report says it."""
    if metrics.get("generated"):
        return ("generated geo-tagged clips (this project's generator; no geo-tagged real audio exists in any "
                "registry, see shared/data/REGISTRY_AUDIO.md)")
    return f"the dataset at {metrics['data']}"


def _f(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


def _map_cell(v: dict[str, Any]) -> str:
    lo, hi = v["map_ci"]
    return "-" if v["map"] is None else f"{v['map']:.3f} [{_f(lo)}, {_f(hi)}]"


def _pairs_cell(v: dict[str, Any]) -> str:
    ci = v.get("pairs_map_ci")
    return _f(v.get("pairs_map")) + (f" [{_f(ci[0])}, {_f(ci[1])}]" if ci else "")


def _diff_cell(v: dict[str, Any]) -> str:
    d = v.get("vs_audio_only")
    return "-" if not d or d[0] is None else f"{d[0]:+.3f} [{d[1]:+.3f}, {d[2]:+.3f}]"


def order_findings(methods: dict[str, dict[str, Any]], data: str) -> list[str]:
    """Whether each fusion beats audio-only (paired interval above 0), and the verdict on the published order."""
    out = []
    if "audio-only" not in methods:
        return ["audio-only was not trained: the published comparison (context-aware vs audio-only) cannot be made."]
    above, level, below = [], [], []
    for name in FUSIONS:
        d = methods.get(name, {}).get("vs_audio_only")
        if not d or d[0] is None:
            continue
        (above if d[1] > 0 else below if d[2] < 0 else level).append(f"{name} {d[0]:+.3f} [{d[1]:+.3f}, {d[2]:+.3f}]")
    if above:
        out.append(f"Above audio-only on {data} (paired bootstrap 95 % interval of the mAP difference above 0): "
                   f"{'; '.join(above)}.")
    if level:
        out.append(f"Not separated from audio-only (interval contains 0): {'; '.join(level)}.")
    if below:
        out.append(f"Below audio-only (interval below 0): {'; '.join(below)}.")
    tried = len(above) + len(level) + len(below)
    if tried:
        verdict = ("reproduces" if len(above) == tried else "reproduces for " + ", ".join(a.split()[0] for a in above)
                   if above else "does NOT reproduce")
        out.append(f"The published order (context-aware models above audio-only) {verdict} here.")
    return out


def pair_findings(metrics: dict[str, Any]) -> list[str]:
    """What the confusable pairs show: audio-only cannot tell a pair apart; context can."""
    methods, out = metrics["methods"], []
    if not metrics.get("confusable_pairs"):
        return out
    parts = [f"{name} {_f(v.get('pairs_map'))} / {_f(v.get('others_map'))}" for name, v in methods.items()]
    out.append("mAP over the confusable-pair events / over the other events: " + "; ".join(parts) + ". The pair "
               "members sound the same by construction, so audio alone can find the sound but not which of the two "
               "it is; the context names the place that makes one of them likely.")
    return out


def map_plot(methods: dict[str, dict[str, Any]]) -> bytes:
    """Our mAP per method with its interval (bars) and the published ranges (shaded bands)."""
    from edgekws.report.figures import _plt, _png

    plt = _plt()
    names = list(methods)
    fig, ax = plt.subplots(figsize=(max(5.5, 1.1 * len(names) + 2), 3.8))
    x = np.arange(len(names))
    vals = [methods[n]["map"] or 0.0 for n in names]
    err = np.array([[max(0.0, v - (methods[n]["map_ci"][0] or v)) for n, v in zip(names, vals, strict=True)],
                    [max(0.0, (methods[n]["map_ci"][1] or v) - v) for n, v in zip(names, vals, strict=True)]])
    colours = ["tab:gray" if n == "audio-only" else "tab:olive" if n == "context-only" else "tab:blue"
               for n in names]
    ax.bar(x, vals, 0.6, yerr=err, capsize=3, color=colours, label="ours (bootstrap 95 % interval)")
    ax.axhspan(0.77, 0.82, color="tab:gray", alpha=0.15, label="published audio-only range (their data)")
    ax.axhspan(0.82, 0.85, color="tab:red", alpha=0.15, label="published with-context range (their data)")
    ax.set_xticks(x, names, rotation=20)
    ax.set_ylim(0.0, 1.0)
    ax.set_ylabel("mAP")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2)  # below: bars reach the top
    ax.set_title("Audio tagging with and without geospatial context")
    return _png(fig)


def pairs_plot(metrics: dict[str, Any]) -> bytes:
    """AP of each confusable-pair event, one group per event, one bar per method."""
    from edgekws.report.figures import _plt, _png

    plt = _plt()
    events = [e for p in metrics["confusable_pairs"] for e in p]
    methods = metrics["methods"]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(events) + 2), 3.8))
    width = 0.8 / max(1, len(methods))
    for j, (name, v) in enumerate(methods.items()):
        ap = [v["per_event_ap"].get(e) or 0.0 for e in events]
        ax.bar(np.arange(len(events)) + (j - (len(methods) - 1) / 2) * width, ap, width, label=name)
    ax.set_xticks(np.arange(len(events)), events, rotation=30, ha="right")
    ax.set_ylim(0.0, 1.0)
    ax.set_ylabel("AP")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title("Confusable pairs (same sound, different place)")
    return _png(fig)


def write(run: Path, out: Path) -> dict[str, Path]:
    """report.md / report.html / report.json of an evaluated run."""
    metrics = read_json(run / METRICS, "metrics")
    info = read_json(run / RUN_INFO, "run info")
    train = read_json(run / "train.json", "training summary")
    methods = metrics["methods"]
    cfg = info["config"]
    name = data_name(metrics)
    intro = [f"Multi-label audio tagging with geospatial context: {metrics['n_test']} test clips, "
             f"{len(metrics['events'])} events, a context vector over {len(CONTEXT_CATEGORIES)} point-of-interest "
             f"categories per clip; measured on {name}.",
             f"Trained on {train['clips']['train']} clips ({train['clips']['val']} for validation: best epoch by "
             f"validation loss, and the decision-level fusion's weights) for {cfg['epochs']} epochs; features "
             f"{train['frames']} frames x {train['bands']} log-mel bands. mAP: mean over events with a positive test "
             f"clip of the average precision; intervals: {cfg['n_boot']}-sample bootstrap over clips (paired for "
             "differences).",
             "The published figures are anchors measured on Geo-ATBench's real recordings; they are never our results."]
    rows = [[n, WHERE.get(n, "?"), f"{v['params']:,}", _map_cell(v), _diff_cell(v), _pairs_cell(v),
             _f(v.get("others_map"))] for n, v in methods.items()]
    ours = Table(f"Our comparison on {name}",
                 ["method", "where context joins", "params", "mAP [95 %]", "vs audio-only [95 %, paired]",
                  "mAP pair events [95 %]", "mAP other events"], rows)
    tables = [ours]
    if metrics.get("confusable_pairs"):
        homes = {e.label: "/".join(e.homes) for e in CATALOGUE}
        prow = [[e, homes.get(e, "?"), str(metrics["positives"][e]),
                 *(_f(v["per_event_ap"].get(e)) for v in methods.values())]
                for p in metrics["confusable_pairs"] for e in p]
        tables.append(Table("Per-event AP of the confusable pairs (same sound, different home context)",
                            ["event", "home context", "test positives", *methods], prow))
    tables.append(Table("Published anchors (their data, not ours)", ["system", "metric", "value", "source"],
                        [[a.system, a.metric, f"{a.value:.2f}", a.source] for a in ANCHORS]))
    findings = order_findings(methods, "this data") + pair_findings(metrics)
    figures = [Figure("map", "mAP per method: ours (bars) vs the published ranges (bands)", map_plot(methods))]
    if metrics.get("confusable_pairs"):
        figures.append(Figure("pairs", "Per-event AP of the confusable pairs", pairs_plot(metrics)))
    return write_task_report(out, "geo-tagging: audio tagging with geospatial context", intro, tables, findings,
                             figures, {"metrics": metrics, "anchors": [a.__dict__ for a in ANCHORS], "config": cfg})
