"""Matplotlib figures of a set of bundle reports, returned as PNG bytes.

PNG bytes (not files) so the HTML page can embed them as base64 and stay one
self-contained file, while the Markdown twin links the same bytes saved beside it.
Figures use the Agg backend: no display needed, identical on CI.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

MARKERS = {"none": "*", "element": "o", "block": "s", "nm": "D", "filter": "^", "kernel": "v"}


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    _plt().close(fig)
    return buf.getvalue()


def _by_granularity(reports: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in reports:
        groups.setdefault(r.get("granularity", "none"), []).append(r)
    for g in groups.values():
        g.sort(key=lambda r: r.get("sparsity", 0.0))
    return groups


def _x_sparsity(r: dict[str, Any]) -> float:
    """Sparsity on the x axis: achieved weight sparsity, or removed-parameter share for filter pruning."""
    if r.get("granularity") == "filter":
        base = (r.get("baseline") or {}).get("weights")
        if base:
            return 1.0 - r["size"]["weights"] / base
        return float(r.get("target_sparsity", 0.0))
    return float(r.get("sparsity", 0.0))


def _acc_pct(r: dict[str, Any], kind: str) -> float:
    """Test accuracy in percent; NaN (a gap in the plot) for a bundle without one, such as a model
    imported with labels that name no _silence_/_unknown_ and so has no test set."""
    v = r["accuracy"].get(kind)
    return float("nan") if v is None else 100.0 * v


def _with_dense_start(reports: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Granularity groups, each pruned line starting at its dense baseline when that report is present."""
    dense = {r["name"]: r for r in reports if r.get("granularity", "none") == "none"}
    groups = _by_granularity(reports)
    for gran, rs in groups.items():
        base = (rs[0].get("baseline") or {}).get("name")
        if gran != "none" and base in dense:
            groups[gran] = [dense[base], *rs]
    return groups


def accuracy_vs_sparsity(reports: list[dict[str, Any]]) -> bytes:
    """int8 (solid) and float (dashed) accuracy against sparsity, one line per granularity."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for gran, rs in _with_dense_start(reports).items():
        xs = [100 * _x_sparsity(r) for r in rs]
        line, = ax.plot(xs, [_acc_pct(r, "int8") for r in rs], marker=MARKERS.get(gran, "o"),
                        label=f"{gran} int8")
        ax.plot(xs, [_acc_pct(r, "float") for r in rs], ls="--", marker=MARKERS.get(gran, "o"),
                color=line.get_color(), alpha=0.5, label=f"{gran} float")
    ax.set_xlabel("weight sparsity / removed weights (%)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Accuracy vs sparsity")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    return _png(fig)


def size_vs_sparsity(reports: list[dict[str, Any]]) -> bytes:
    """Compressed weight bytes and MACs against sparsity, one marker per granularity."""
    plt = _plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9.6, 3.8))
    for gran, rs in _with_dense_start(reports).items():
        xs = [100 * _x_sparsity(r) for r in rs]
        a1.plot(xs, [r["size"]["weight_bytes_compressed"] / 1024 for r in rs], marker=MARKERS.get(gran, "o"),
                label=gran)
        a2.plot(xs, [r["size"]["macs"] / 1e6 for r in rs], marker=MARKERS.get(gran, "o"), label=gran)
    a1.set_title("Weight storage (sparse format estimate)")
    a1.set_ylabel("KiB")
    a2.set_title("MACs per inference (dense kernels)")
    a2.set_ylabel("M MACs")
    for a in (a1, a2):
        a.set_xlabel("sparsity (%)")
        a.grid(alpha=0.3)
        a.legend(fontsize=7)
    return _png(fig)


def int8_vs_float(reports: list[dict[str, Any]]) -> bytes:
    """Float and int8 (TFLite Micro) accuracy side by side for every model."""
    plt = _plt()
    names = [r["name"] for r in reports]
    fig, ax = plt.subplots(figsize=(max(5.0, 0.9 * len(names) + 2), 3.8))
    x = np.arange(len(names))
    ax.bar(x - 0.2, [_acc_pct(r, "float") for r in reports], 0.4, label="float (Keras)")
    ax.bar(x + 0.2, [_acc_pct(r, "int8") for r in reports], 0.4, label="int8 (TFLite Micro)")
    ax.set_xticks(x, names, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("test accuracy (%)")
    known = [v for r in reports for v in (_acc_pct(r, "int8"), _acc_pct(r, "float")) if not np.isnan(v)]
    ax.set_ylim(max(0.0, min(known, default=10.0) - 10), 100)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("int8 vs float")
    return _png(fig)


def training_curves(report: dict[str, Any]) -> bytes | None:
    """Loss and accuracy per epoch of every training phase (train, fine-tune, QAT) of one model."""
    phases = {k: v for k, v in (report.get("history") or {}).items() if isinstance(v, dict) and v.get("loss")}
    if not phases:
        return None
    plt = _plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9.6, 3.4))
    start = 0
    for phase, h in phases.items():
        ep = np.arange(start + 1, start + 1 + len(h["loss"]))
        a1.plot(ep, h["loss"], label=f"{phase} train")
        if "val_loss" in h:
            a1.plot(ep, h["val_loss"], ls="--", label=f"{phase} val")
        if "accuracy" in h:
            a2.plot(ep, np.array(h["accuracy"]) * 100, label=f"{phase} train")
        if "val_accuracy" in h:
            a2.plot(ep, np.array(h["val_accuracy"]) * 100, ls="--", label=f"{phase} val")
        start += len(h["loss"])
    a1.set_title(f"{report['name']}: loss")
    a2.set_title("accuracy (%)")
    for a in (a1, a2):
        a.set_xlabel("epoch")
        a.grid(alpha=0.3)
        a.legend(fontsize=7)
    return _png(fig)


def confusion(report: dict[str, Any], kind: str = "int8", matrix: list[list[int]] | None = None,
              subtitle: str | None = None) -> bytes:
    """Row-normalised confusion matrix (counts written in the cells).

    ``matrix`` plots another matrix over the report's labels (an evaluation on real data);
    ``subtitle`` then says which one.
    """
    plt = _plt()
    cm = np.asarray(report["confusion"][kind] if matrix is None else matrix, dtype=np.float64)
    labels = [s.strip("_") for s in report["labels"]]
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(5.6, 5.0))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            if cm[i, j]:
                ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if norm[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(labels)), labels, rotation=60, fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{report['name']} ({subtitle or kind})")
    return _png(fig)


def _interval(d: dict[str, Any]) -> tuple[float, float, float]:
    """(percent, minus, plus) of an edgekws.metrics accuracy dict, for error bars."""
    v = 100 * d["correct"] / d["n"] if d["n"] else 0.0
    return v, v - 100 * d["ci_low"], 100 * d["ci_high"] - v


def synthetic_vs_real(reports: list[dict[str, Any]]) -> bytes:
    """Per model: int8 accuracy on the synthetic test split beside each evaluation (12-class and keywords),
    with 95 % Wilson intervals as error bars. Shows at a glance how far the synthetic figure misleads."""
    from edgekws.metrics import accuracy_from_fraction

    plt = _plt()
    names = [r["name"] for r in reports]
    series: list[tuple[str, list[tuple[float, float, float] | None]]] = []
    synth = []
    for r in reports:
        acc = r["accuracy"]
        try:
            synth.append(_interval(accuracy_from_fraction(acc["int8"], int(acc["n_test"])).as_dict()))
        except (KeyError, TypeError, ValueError):
            synth.append(None if acc.get("int8") is None else (100 * acc["int8"], 0.0, 0.0))
    series.append(("synthetic test (int8)", synth))  # type: ignore[arg-type]
    evals: list[str] = []
    for r in reports:
        evals += [n for n in (r.get("evaluations") or {}) if n not in evals]
    for name in evals:
        for key, label in (("accuracy", "12-class"), ("keyword_accuracy", "keywords")):
            vals: list[tuple[float, float, float] | None] = []
            for r in reports:
                ev = (r.get("evaluations") or {}).get(name) or {}
                vals.append(_interval(ev[key]) if ev.get(key) else None)
            series.append((f"{name} {label}", vals))
    fig, ax = plt.subplots(figsize=(max(5.5, 1.4 * len(names) * len(series) / 3 + 2), 4.0))
    x = np.arange(len(names))
    width = 0.8 / len(series)
    for k, (label, vals) in enumerate(series):
        pos = x - 0.4 + width * (k + 0.5)
        have = [i for i, v in enumerate(vals) if v is not None]
        ax.bar(pos[have], [vals[i][0] for i in have], width, label=label,  # type: ignore[index]
               yerr=np.array([[vals[i][1] for i in have], [vals[i][2] for i in have]]),  # type: ignore[index]
               capsize=2)
    ax.set_xticks(x, names, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 100)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title("Synthetic test vs real speech (int8, 95 % intervals)")
    return _png(fig)


def device_frame(r: dict[str, Any]) -> tuple[str, float, str] | None:
    """(board, median counter ticks per inference, unit) of a report's first device with latency figures."""
    for board, dev in sorted((r.get("device") or {}).items()):
        try:
            return board, float(dev["latency"]["frame"]["median"]), str(dev.get("counter_unit", "ticks"))
        except (KeyError, TypeError):
            continue
    return None


def _device_reports(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in reports if device_frame(r) is not None]


def has_device_figures(reports: list[dict[str, Any]]) -> bool:
    return bool(_device_reports(reports))


def _unit_label(reports: list[dict[str, Any]]) -> str:
    units = sorted({device_frame(r)[2] for r in _device_reports(reports)})  # type: ignore[index]
    return " / ".join(units)


def accuracy_vs_latency(reports: list[dict[str, Any]]) -> bytes:
    """int8 accuracy against on-device latency per inference (instructions in the emulator, cycles on a board)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for r in _device_reports(reports):
        _, ticks, _ = device_frame(r)  # type: ignore[misc]
        gran = r.get("granularity", "none")
        ax.scatter([ticks / 1e6], [_acc_pct(r, "int8")], marker=MARKERS.get(gran, "o"), s=50, label=r["name"])
    ax.set_xlabel(f"M {_unit_label(reports)} per inference (median)")
    ax.set_ylabel("int8 test accuracy (%)")
    ax.set_title("Accuracy vs on-device latency")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return _png(fig)


def latency_vs_sparsity(reports: list[dict[str, Any]]) -> bytes:
    """On-device latency per inference against sparsity, one line per granularity."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    dev = _device_reports(reports)
    for gran, rs in _with_dense_start(dev).items():
        xs = [100 * _x_sparsity(r) for r in rs]
        ax.plot(xs, [device_frame(r)[1] / 1e6 for r in rs], marker=MARKERS.get(gran, "o"),  # type: ignore[index]
                label=gran)
    ax.set_xlabel("weight sparsity / removed weights (%)")
    ax.set_ylabel(f"M {_unit_label(reports)} per inference (median)")
    ax.set_title("On-device latency vs sparsity (per granularity)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return _png(fig)
