"""The asc report: the subset curve, seen vs unseen devices, per device, per method; complexity; anchors apart.

The published DCASE 2024 figures were measured on TAU Urban Acoustic Scenes 2022
Mobile (real recordings), so they sit in their own table headed as anchors and
appear in the plot as a dashed line labelled as theirs; findings compare methods
only with each other on the data named, with McNemar's test on the shared test clips.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgekws.tasks.base import Anchor
from edgekws.tasks.report import Figure, Table, write_task_report
from edgekws.tasks.runner import METRICS, RUN_INFO, read_json

DCASE = "DCASE 2024 Challenge Task 1 baseline (Schmid et al., task description and results page)"
ANCHOR_DATA = "TAU Urban Acoustic Scenes 2022 Mobile development test split (real recordings; not ours)"
BASELINE_ANCHOR = {5: 0.424, 10: 0.453, 25: 0.503, 50: 0.532, 100: 0.570}
ANCHORS: tuple[Anchor, ...] = (
    *(Anchor("DCASE 2024 baseline", f"class-wise accuracy, split{p}", v, DCASE, ANCHOR_DATA)
      for p, v in BASELINE_ANCHOR.items()),
    Anchor("DCASE 2024 baseline", "parameters", 61148, DCASE, "model size"),
    Anchor("DCASE 2024 baseline", "MACs per 1 s clip", 29.4e6, DCASE, "model size"),
    Anchor("DCASE 2024 best systems", "class-wise accuracy, range over subsets (low end)", 0.54,
           "DCASE 2024 Task 1 results", ANCHOR_DATA),
    Anchor("DCASE 2024 best systems", "class-wise accuracy, range over subsets (high end)", 0.62,
           "DCASE 2024 Task 1 results", ANCHOR_DATA),
)
ALPHA = 0.05


def _pct(v: float) -> str:
    return f"{100 * v:.1f}"


def _cw(r: dict[str, Any]) -> str:
    lo, hi = r["classwise_ci"]
    return f"{_pct(r['classwise_accuracy'])} [{_pct(lo)}, {_pct(hi)}]"


def _acc(a: dict[str, Any]) -> str:
    return f"{_pct(a['accuracy'])} [{_pct(a['ci_low'])}, {_pct(a['ci_high'])}] ({a['correct']}/{a['n']})"


def method_findings(metrics: dict[str, Any], data_name: str) -> list[str]:
    """Per subset and method: class-wise accuracy vs the baseline, with McNemar's p on the shared test clips."""
    out = []
    for p, res in metrics["subsets"].items():
        if "baseline" not in res:
            continue
        b = res["baseline"]["classwise_accuracy"]
        parts = []
        for name, r in res.items():
            if name == "baseline" or "vs_baseline_mcnemar_p" not in r or name.endswith("teacher"):
                continue
            d = r["classwise_accuracy"] - b
            pv = r["vs_baseline_mcnemar_p"]
            verdict = ("better than" if d > 0 else "worse than") if pv < ALPHA else "not separable from"
            parts.append(f"{name} {_pct(r['classwise_accuracy'])} ({d * 100:+.1f} points, McNemar p = {pv:.3g}: "
                         f"{verdict} the baseline)")
        if parts:
            out.append(f"split{p} on {data_name}: baseline {_pct(b)} % class-wise; " + "; ".join(parts) + ".")
    return out


def curve_findings(metrics: dict[str, Any]) -> list[str]:
    """Where a method scores clearly *lower* with more training data (intervals apart): training noise of a
    single run, larger than the test-sampling intervals, which the reader must know before comparing methods."""
    out = []
    subsets = sorted(metrics["subsets"], key=int)
    for m in dict.fromkeys(k for p in subsets for k in metrics["subsets"][p]):
        pts = [(p, metrics["subsets"][p][m]) for p in subsets if m in metrics["subsets"][p]]
        dips = [f"split{a} {_pct(ra['classwise_accuracy'])} -> split{b} {_pct(rb['classwise_accuracy'])}"
                for (a, ra), (b, rb) in zip(pts, pts[1:], strict=False)
                if rb["classwise_ci"][1] < ra["classwise_ci"][0]]
        if dips:
            out.append(f"{m} scores lower with more training data ({'; '.join(dips)}; intervals apart): the spread "
                       "between single training runs exceeds the test-sampling intervals here.")
    return out


def device_findings(metrics: dict[str, Any]) -> list[str]:
    """The seen-unseen gap of each method at the largest subset."""
    if not metrics["unseen_devices"]:
        return ["The test split has no device unseen in training: no seen/unseen comparison."]
    p = max(metrics["subsets"], key=int)
    parts = []
    for name, r in metrics["subsets"][p].items():
        gap = r["seen"]["accuracy"] - r["unseen"]["accuracy"]
        parts.append(f"{name} {_pct(r['seen']['accuracy'])} seen vs {_pct(r['unseen']['accuracy'])} unseen "
                     f"({gap * 100:+.1f} points)")
    return [f"split{p}, devices seen in training ({', '.join(metrics['seen_devices'])}) vs unseen "
            f"({', '.join(metrics['unseen_devices'])}): " + "; ".join(parts) + "."]


def subset_plot(metrics: dict[str, Any]) -> bytes:
    """Class-wise accuracy vs training subset per method (bars: bootstrap 95 %), the DCASE baseline dashed."""
    from edgekws.report.figures import _plt, _png

    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    subsets = sorted(metrics["subsets"], key=int)
    methods = [m for m in metrics["subsets"][subsets[0]] if not m.endswith("teacher")]
    xs = np.array([int(p) for p in subsets], float)
    for i, m in enumerate(methods):
        pts = [(int(p), metrics["subsets"][p][m]) for p in subsets if m in metrics["subsets"][p]]
        x = np.array([q for q, _ in pts], float) * (1 + 0.03 * (i - len(methods) / 2))
        v = np.array([r["classwise_accuracy"] for _, r in pts])
        err = np.array([[max(0.0, a - r["classwise_ci"][0]) for a, (_, r) in zip(v, pts, strict=True)],
                        [max(0.0, r["classwise_ci"][1] - a) for a, (_, r) in zip(v, pts, strict=True)]])
        ax.errorbar(x, v, yerr=err, marker="o", capsize=3, label=m)
    ax.plot(list(BASELINE_ANCHOR), list(BASELINE_ANCHOR.values()), "k--", alpha=0.6,
            label="DCASE 2024 baseline on TAU 2022 (anchor, their data)")
    ax.set_xscale("log")
    ax.set_xticks(xs, [f"{int(q)} %" for q in xs])
    ax.set_xlabel("training subset")
    ax.set_ylabel("class-wise accuracy")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title("Accuracy per training subset")
    return _png(fig)


def device_plot(metrics: dict[str, Any]) -> bytes:
    """Accuracy per test device at the largest subset, one bar group per device, unseen devices shaded."""
    from edgekws.report.figures import _plt, _png

    plt = _plt()
    p = max(metrics["subsets"], key=int)
    res = metrics["subsets"][p]
    methods = [m for m in res if not m.endswith("teacher")]
    devices = metrics["devices"]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.8 * len(devices) + 2), 3.8))
    w = 0.8 / max(1, len(methods))
    for i, m in enumerate(methods):
        ax.bar(np.arange(len(devices)) + (i - (len(methods) - 1) / 2) * w,
               [res[m]["per_device"][d]["accuracy"] for d in devices], w, label=m)
    for j, d in enumerate(devices):
        if d in metrics["unseen_devices"]:
            ax.axvspan(j - 0.45, j + 0.45, color="0.85", zorder=0)
    ax.set_xticks(np.arange(len(devices)), [d.upper() + ("\n(unseen)" if d in metrics["unseen_devices"] else "")
                                             for d in devices])
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title(f"Accuracy per device, split{p}")
    return _png(fig)


def write(run: Path, out: Path) -> dict[str, Path]:
    """report.md / report.html / report.json of an evaluated run."""
    metrics = read_json(run / METRICS, "metrics")
    info = read_json(run / RUN_INFO, "run info")
    train = read_json(run / "train.json", "training summary")
    cfg = info["config"]
    data_name = (f"generated data ({metrics['data']}, synthetic scenes in the DCASE 2024 Task 1 layout)"
                 if metrics.get("generated") else f"the dataset at {metrics['data']} (DCASE 2024 Task 1 layout)")
    cx = metrics["complexity"]
    intro = [f"Acoustic scene classification under device shift: {metrics['n_test']} test clips of "
             f"{len(metrics['scenes'])} scenes from {data_name}; devices seen in training "
             f"{', '.join(d.upper() for d in metrics['seen_devices'])}, unseen "
             f"{', '.join(d.upper() for d in metrics['unseen_devices']) or 'none'}.",
             f"Every model: the same CNN ({', '.join(map(str, cfg['model']['channels']))} channels) on "
             f"{train['frames']} x {train['bands']} log-mel, {cfg['epochs']} epochs, Freq-MixStyle "
             f"(p = {cfg['augment']['mixstyle_p']}) and device impulse-response augmentation "
             f"(p = {cfg['augment']['dir_p']}), Adam at {cfg['learning_rate']:g} decaying on a cosine, seed "
             f"{cfg['seed']}; last-epoch weights.",
             "Class-wise accuracy (the challenge's metric: mean of per-scene accuracies) with a 200-draw "
             "bootstrap 95 % interval; plain accuracies with Wilson 95 % intervals; a method vs the baseline by "
             "McNemar's exact test on the same test clips.",
             f"One training run per method and subset (seed {cfg['seed']}): the intervals and McNemar's test "
             "cover the sampling of test clips, not the spread between training runs, so a difference between two "
             "methods is a difference between these two trained models.",
             "The DCASE figures are anchors measured on real recordings (TAU 2022 Mobile); they are never our results. "
             "No registry package ships TAU 2022 Mobile or another real scene set (dcase-util only downloads from "
             "Zenodo at run time), so there is no real-data figure beside the generated one."]
    tables = [Table("Complexity (counted as the DCASE 2024 Task 1 rules count it)",
                    ["model", "parameters", "parameter memory int8 / fp16", "MACs per 1 s clip", "within limits (int8)"],
                    [["scene CNN (every method)", f"{cx['params']:,}",
                      f"{cx['param_bytes_int8']:,} B / {cx['param_bytes_fp16']:,} B", f"{cx['macs']:,}",
                      f"{'yes' if cx['within_limits_int8'] else 'NO'} (limits {cx['max_param_bytes']:,} B, "
                      f"{cx['max_macs']:,} MACs)"]]
                    + [[f"City2Scene teacher split{p} (training only)", f"{s['teacher']['params']:,}", "-",
                        f"{s['teacher']['macs']:,}", "not deployed"]
                       for p, s in train["subsets"].items() if "teacher" in s][:1],
                    note="Parameters: all trainable ones, batch norm's scale and shift included; MACs of the "
                         "convolutions for one 1 s clip.")]
    subsets = sorted(metrics["subsets"], key=int)
    methods = list(dict.fromkeys(m for p in subsets for m in metrics["subsets"][p]))
    tables.append(Table(f"Class-wise accuracy per training subset, % [95 %], on {data_name}",
                        ["method", *[f"split{p} ({train['subsets'][p]['clips']} clips)" for p in subsets]],
                        [[m, *[_cw(metrics["subsets"][p][m]) if m in metrics["subsets"][p] else "-" for p in subsets]]
                         for m in methods]))
    rows = []
    for p in subsets:
        for m, r in metrics["subsets"][p].items():
            rows.append([f"split{p}", m, _acc(r["accuracy"]), _acc(r["seen"]), _acc(r["unseen"]),
                         f"{(r['seen']['accuracy'] - r['unseen']['accuracy']) * 100:+.1f}",
                         f"{r['vs_baseline_mcnemar_p']:.3g}" if "vs_baseline_mcnemar_p" in r else "-"])
    tables.append(Table("Seen vs unseen devices, accuracy % [95 %] (correct/n)",
                        ["subset", "method", "all devices", "seen devices", "unseen devices", "gap (points)",
                         "McNemar p vs baseline"], rows))
    big = max(subsets, key=int)
    devs = metrics["devices"]
    tables.append(Table(f"Accuracy per device, split{big}, %",
                        ["method", *[d.upper() + (" (unseen)" if d in metrics["unseen_devices"] else "")
                                     for d in devs]],
                        [[m, *[f"{_pct(r['per_device'][d]['accuracy'])} ({r['per_device'][d]['n']})" for d in devs]]
                         for m, r in metrics["subsets"][big].items()]))
    cur_rows = []
    for p, s in train["subsets"].items():
        dc = s.get("device_classifier")
        if dc:
            cur_rows.append([f"split{p}", f"{_pct(dc['oof_accuracy'])} %",
                             ", ".join(f"{d.upper()} {v:.2f}" for d, v in dc["mean_normalised_entropy"].items())])
    if cur_rows:
        tables.append(Table("Auxiliary device classifier (out of fold) and the curricula's signal",
                            ["subset", "device accuracy", "mean normalised entropy per training device"], cur_rows))
    tables.append(Table("Published anchors (their data, not ours)", ["system", "metric", "value", "source / data"],
                        [[a.system, a.metric, f"{a.value:,.3f}" if a.value < 1000 else f"{a.value:,.0f}",
                          f"{a.source}; {a.data}"] for a in ANCHORS]))
    findings = method_findings(metrics, "this data") + curve_findings(metrics) + device_findings(metrics)
    findings.append(f"Complexity: {cx['params']:,} parameters ({cx['param_bytes_int8']:,} B at int8) and "
                    f"{cx['macs'] / 1e6:.2f} M MACs per clip: "
                    f"{'within' if cx['within_limits_int8'] else 'OUTSIDE'} the challenge's 128 kB / 30 M MACs.")
    for p, s in train["subsets"].items():
        if "teacher" in s and "city2scene-teacher" in metrics["subsets"].get(p, {}):
            t = metrics["subsets"][p]["city2scene-teacher"]
            findings.append(f"split{p}: the City2Scene teacher ({s['teacher']['params']:,} parameters, city classifier "
                            f"{_pct(s['teacher']['city_train_accuracy'])} % on its own training clips) scores "
                            f"{_cw(t)} class-wise on test.")
    figures = [Figure("subsets", "Class-wise accuracy per training subset (ours) with the DCASE baseline anchor",
                      subset_plot(metrics)),
               Figure("devices", "Accuracy per device at the largest subset (unseen devices shaded)",
                      device_plot(metrics))]
    slim = {**metrics, "subsets": {p: {m: {k: v for k, v in r.items() if k != "correct"} for m, r in res.items()}
                                   for p, res in metrics["subsets"].items()}}
    return write_task_report(out, "asc: scene classification under device shift (City2Scene, entropy curriculum, "
                             "DDSC)", intro, tables, findings, figures,
                             {"metrics": slim, "anchors": [a.__dict__ for a in ANCHORS], "config": cfg})
