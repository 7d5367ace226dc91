"""The pruning study's report: tables and plots from ``pruning_study.json``.

Why a separate renderer from the bundle report: the study's unit of comparison
is (model, pruning point, kernel backend), measured as emulator instructions,
not one bundle. Two questions drive the plots: how instructions fall with
sparsity for each granularity and backend, and which variants are
Pareto-optimal in accuracy vs instructions. The HTML page embeds its PNGs
(one self-contained file); the Markdown twin links the same PNGs saved beside
it, and the JSON it was made from stays beside both.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from edgekws.fsutil import write_atomic
from edgekws.metrics import accuracy_from_fraction
from edgekws.report.figures import _plt, _png

GRAN_ORDER = ("none", "element", "block", "nm", "kernel", "filter")
BACKEND_STYLE = {"ref": ":", "simd": "-", "cmsisnn": "-.", "skipzero": "--", "wp": "--", "block": "--", "auto": "-"}
# One colour per backend in every panel and every report, so a line is recognisable without its legend.
BACKEND_COLOR = {"ref": "tab:gray", "simd": "tab:blue", "cmsisnn": "tab:cyan", "skipzero": "tab:red",
                 "wp": "tab:orange", "block": "tab:purple", "auto": "tab:green"}


def _models(rows: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(r["model"] for r in rows))


def _valid(r: dict[str, Any]) -> bool:
    """A measured total that is a figure: its image passed the self-test (bit-exact with TFLite Micro)."""
    return r.get("passed") is True and bool(r.get("total"))


def _acc_cell(r: dict[str, Any]) -> str:
    """int8 accuracy in percent with its Wilson 95 % interval when the test-set size is known."""
    acc, n = r.get("accuracy_int8"), r.get("n_test")
    if acc is None:
        return "-"
    if not n:
        return f"{acc * 100:.1f} (n?)"
    return accuracy_from_fraction(float(acc), int(n)).cell()


def _x(r: dict[str, Any]) -> float:
    return float(r["target_sparsity"]) * 100


def instructions_vs_sparsity(rows: list[dict[str, Any]], model: str) -> bytes:
    """One panel per granularity: instructions per inference vs target sparsity, a line per backend.

    The dense point (0 %) starts every panel, so each line shows the gain over the same base model."""
    plt = _plt()
    mrows = [r for r in rows if r["model"] == model and _valid(r)]
    grans = [g for g in GRAN_ORDER if g != "none" and any(r["granularity"] == g for r in mrows)]
    fig, axes = plt.subplots(1, max(1, len(grans)), figsize=(4.2 * max(1, len(grans)), 3.6), squeeze=False,
                             sharey=True)
    dense = [r for r in mrows if r["granularity"] == "none"]
    for ax, gran in zip(axes[0], grans, strict=False):
        grows = [r for r in mrows if r["granularity"] == gran]
        for backend in dict.fromkeys(r["backend"] for r in grows):
            pts = sorted([(_x(r), r["total"]) for r in dense + grows if r["backend"] == backend])
            if not pts:
                continue
            xs, ys = zip(*pts, strict=True)
            ax.plot(xs, ys, BACKEND_STYLE.get(backend, "-"), marker="o", label=backend,
                    color=BACKEND_COLOR.get(backend), linewidth=2.5 if backend == "auto" else 1.2)
        ax.set_title(f"{model}: {gran}")
        ax.set_xlabel("target sparsity (%)")
        ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
    axes[0][0].set_ylabel("instructions per inference (QEMU)")
    handles: dict[str, Any] = {}
    for ax in axes[0]:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(lab, h)
    if handles:
        fig.legend(list(handles.values()), list(handles), loc="upper center", ncol=len(handles), fontsize=8,
                   bbox_to_anchor=(0.5, 1.06))
    return _png(fig)


def pareto_front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """(instructions, accuracy) points no other point beats on both (fewer instructions, higher accuracy)."""
    front: list[tuple[float, float]] = []
    best_acc = float("-inf")
    for ins, acc in sorted(points, key=lambda p: (p[0], -p[1])):
        if acc > best_acc:
            front.append((ins, acc))
            best_acc = acc
    return front


def accuracy_vs_instructions(rows: list[dict[str, Any]]) -> bytes:
    """Every measured (variant, backend) as a point; the Pareto front per model as a line."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    markers = {"none": "*", "element": "o", "block": "s", "nm": "D", "filter": "^", "kernel": "v"}
    for model in _models(rows):
        mrows = [r for r in rows if r["model"] == model and _valid(r) and r.get("accuracy_int8") is not None]
        for gran in dict.fromkeys(r["granularity"] for r in mrows):
            g = [r for r in mrows if r["granularity"] == gran]
            ax.scatter([r["total"] for r in g], [r["accuracy_int8"] * 100 for r in g], s=18, alpha=0.6,
                       marker=markers.get(gran, "o"), label=f"{model} {gran}")
        front = pareto_front([(r["total"], r["accuracy_int8"] * 100) for r in mrows])
        if front:
            xs, ys = zip(*front, strict=True)
            ax.step(xs, ys, where="post", linewidth=2, label=f"{model} Pareto front")
    ax.set_xscale("log")
    ax.set_xlabel("instructions per inference (QEMU, log)")
    ax.set_ylabel("int8 accuracy (%, TFLite Micro)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    return _png(fig)


def headline_rows(rows: list[dict[str, Any]], model: str) -> tuple[list[str], list[list[str]]]:
    """Per point: sparsity, accuracy, instructions per backend, flash/RAM of the autotuned image."""
    mrows = [r for r in rows if r["model"] == model]
    backends = list(dict.fromkeys(r["backend"] for r in mrows))
    header = ["point", "sparsity", "int8 acc % [95 % CI]", *backends, "flash B (auto)", "RAM B (auto)"]
    body = []
    for point in dict.fromkeys(r["point"] for r in mrows):
        prow = [r for r in mrows if r["point"] == point]
        by_b = {r["backend"]: r for r in prow}
        first = prow[0]
        auto = by_b.get("auto") or by_b.get("simd") or first
        sp = first.get("sparsity")
        body.append([point, f"{sp:.2f}" if isinstance(sp, (int, float)) else "-", _acc_cell(first),
                     *[("FAILED" if by_b[b].get("passed") is not True else
                        str(by_b[b]["total"]) if by_b[b]["total"] is not None else "-") if b in by_b else "-"
                       for b in backends],
                     str(auto.get("flash_bytes") or "-"), str(auto.get("ram_bytes") or "-")])
    return header, body


def layer_rows(rows: list[dict[str, Any]], model: str, point: str) -> tuple[list[str], list[list[str]]]:
    """Instructions per layer and backend at one point (the autotuner's choice marked)."""
    prow = [r for r in rows if r["model"] == model and r["point"] == point]
    if not prow:
        return [], []
    names = prow[0].get("layer_names") or [str(i) for i in range(len(prow[0]["layer_counts"]))]
    ops = prow[0].get("layer_ops") or [""] * len(names)
    backends = [r["backend"] for r in prow if r["backend"] != "auto"]
    auto = next((r for r in prow if r["backend"] == "auto"), None)
    header = ["layer", "op", *backends, "auto choice"]
    body = []
    for i, name in enumerate(names):
        cells = []
        for r in prow:
            if r["backend"] == "auto":
                continue
            ran = r["assignment"][i] == r["backend"]
            c = r["layer_counts"][i]
            if r.get("passed") is not True:
                cells.append("FAILED")
            else:
                cells.append(str(c) if ran and c is not None else "-")
        body.append([name, ops[i], *cells, auto["assignment"][i] if auto else "-"])
    return header, body


def _md_table(header: list[str], body: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)


def _html_table(header: list[str], body: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in body)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def findings(doc: dict[str, Any]) -> list[str]:
    """Sentences stating the targets from the summary (the figures, not opinions)."""
    out = []
    for model, s in doc.get("summary", {}).items():
        if s.get("failed"):
            out.append(f"{model}: {len(s['failed'])} image(s) FAILED their self-test and are not figures: "
                       f"{', '.join(s['failed'])}.")
        if "simd_speedup_vs_ref" in s:
            verdict = "meets" if s["simd_target_3x_met"] else "misses"
            out.append(f"{model}: dense simd runs {s['simd_speedup_vs_ref']}x fewer instructions than ref "
                       f"({s['dense_simd']} vs {s['dense_ref']}); {verdict} the 3x target.")
        for point, a in s.get("at_80", {}).items():
            ok = a["speed_target_1p5x_met"] and a["accuracy_target_met"]
            drop = a.get("accuracy_drop_text") or f"drop {a['accuracy_drop_points']} points (no interval: n unknown)"
            out.append(f"{model} {point}: best sparse backend {a['best_backend']} is {a['speedup_vs_dense_simd']}x "
                       f"faster than dense simd, int8 accuracy {drop} "
                       f"({'meets' if ok else 'misses'} the 1.5x / 2-point target on the point estimate).")
            if a.get("sparse_layers_speedup"):
                out.append(f"{model} {point}: the {len(a['sparse_layers'])} layers on sparse kernels "
                           f"({a['sparse_layers_share_of_dense_simd'] * 100:.0f} % of the dense simd instructions) "
                           f"run {a['sparse_layers_speedup']}x faster; even at zero cost for them the whole model "
                           f"could gain at most {a['bound_if_sparse_layers_free']}x.")
    return out


def write_study_report(doc: dict[str, Any], out_dir: str | Path, stem: str = "pruning_study") -> list[Path]:
    """Write ``<stem>.md`` (+ PNGs beside it) and ``<stem>.html`` (PNGs embedded); returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = doc["rows"]
    figs: list[tuple[str, str, bytes]] = []
    for model in _models(rows):
        figs.append((f"{stem}_{model}_instructions.png", f"{model}: instructions vs sparsity",
                     instructions_vs_sparsity(rows, model)))
    figs.append((f"{stem}_pareto.png", "accuracy vs instructions (Pareto front)", accuracy_vs_instructions(rows)))
    written = []
    for name, _, png in figs:
        write_atomic(out / name, png)
        written.append(out / name)
    unit = doc.get("unit", "instructions")
    md = [f"# Pruning study ({unit} per inference, {doc.get('board')}, QEMU -icount)", "",
          "Instructions are exact QEMU instruction counts, not cycles. Accuracy is int8 on TFLite Micro "
          "over each bundle's test split, with its Wilson 95 % interval; a drop inside the Newcombe 95 % "
          "interval of the difference is not significant. FAILED: the image's self-test failed, no figure. "
          f"Figures from `{stem}.json`.", "", "## Findings", ""]
    md += [f"- {f}" for f in findings(doc)]
    page = [f"<h1>Pruning study ({html.escape(unit)} per inference, {html.escape(str(doc.get('board')))})</h1>",
            "<h2>Findings</h2><ul>" + "".join(f"<li>{html.escape(f)}</li>" for f in findings(doc)) + "</ul>"]
    for model in _models(rows):
        header, body = headline_rows(rows, model)
        md += ["", f"## {model}", "", _md_table(header, body)]
        page += [f"<h2>{html.escape(model)}</h2>", _html_table(header, body)]
        for point in dict.fromkeys(r["point"] for r in rows if r["model"] == model):
            lh, lb = layer_rows(rows, model, point)
            if lh:
                md += ["", f"### {model} {point}: per layer", "", _md_table(lh, lb)]
                page += [f"<h3>{html.escape(model)} {html.escape(point)}: per layer</h3>", _html_table(lh, lb)]
    md += ["", "## Plots", ""]
    page.append("<h2>Plots</h2>")
    for name, title, png in figs:
        md += [f"![{title}]({name})", ""]
        b64 = base64.b64encode(png).decode()
        page.append(f"<h3>{html.escape(title)}</h3><img alt='{html.escape(title)}' src='data:image/png;base64,{b64}'>")
    style = ("<style>body{font-family:sans-serif;max-width:1200px;margin:auto}table{border-collapse:collapse;"
             "margin:8px 0}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}</style>")
    html_doc = f"<!doctype html><html><head><meta charset='utf-8'><title>{stem}</title>{style}</head><body>" \
               + "\n".join(page) + "</body></html>\n"
    write_atomic(out / f"{stem}.md", ("\n".join(md) + "\n").encode())
    write_atomic(out / f"{stem}.html", html_doc.encode())
    return [out / f"{stem}.md", out / f"{stem}.html", *written]
