"""report.json of N bundles -> one comparison: Markdown (+ PNGs beside it), self-contained HTML, JSON.

The table is built from a list of columns (header, getter, format) so later
stages (device latency, RAM/flash) add columns by adding figures to report.json:
each board under a report's ``device`` key adds latency, memory and on-device
accuracy columns, with the counter unit in the header (cycles vs instructions
never share one). Each dataset under a report's ``evaluations`` key (written by
``edgekws evaluate``, e.g. real speech) adds its 12-class and keyword accuracy
with the 95 % interval right beside the synthetic test accuracy, its false
accepts, its device accuracy where measured, and a confusion matrix per model.
"""

from __future__ import annotations

import base64
import contextlib
import html
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgekws.errors import BundleError
from edgekws.export.provenance import ImportProvenance
from edgekws.fsutil import write_atomic
from edgekws.metrics import Accuracy, accuracy_drop, accuracy_from_fraction
from edgekws.report import figures

#: Credit printed under any table that shows evaluations (the dataset's licence asks for it).
SPEECH_COMMANDS_CREDIT = ("Real-speech clips: Speech Commands dataset v0.02 (Warden 2018, arXiv:1804.03209), "
                          "CC BY 4.0.")


#: How to read the accuracy cells (printed above every table).
ACCURACY_LEGEND = ("Accuracy cells: estimate [95 % Wilson interval] in percent; differences in points with Newcombe's "
                   "95 % interval, \"n.s.\" when that interval holds zero (not a finding).")


@dataclass(frozen=True)
class Column:
    header: str
    get: Callable[[dict[str, Any]], Any]
    fmt: str = "{}"

    def cell(self, r: dict[str, Any]) -> str:
        try:
            v = self.get(r)
        except (KeyError, TypeError, IndexError):
            v = None
        if v is None:
            return "-"
        return self.fmt.format(v)


def _pct(v: float | None) -> float | None:
    return None if v is None else 100.0 * v


def _acc(fraction: float | None, n: int | None) -> Accuracy | None:
    """A stored accuracy fraction with its Wilson interval (None without a figure or a test-set size)."""
    if fraction is None or not n:
        return None
    try:
        return accuracy_from_fraction(float(fraction), int(n))
    except ValueError:
        return None


def _acc_cell(fraction: float | None, n: int | None) -> str | None:
    """``95.8 [90.6-98.2]`` (percent, 95 % Wilson interval); a bare figure marked ``(n?)`` when the
    report does not say on how many clips it was measured."""
    if fraction is None:
        return None
    a = _acc(fraction, n)
    return a.cell() if a else f"{100 * float(fraction):.1f} (n?)"


def _n_test(r: dict[str, Any]) -> int | None:
    return r["accuracy"].get("n_test")


def _drop_cell(base: Accuracy | None, other: Accuracy | None, points: float | None) -> str | None:
    """A difference in points with its Newcombe 95 % interval; ``(n.s.)`` when the interval holds zero,
    so a one-clip difference is never read as a finding."""
    if points is None:
        return None
    if base is None or other is None:
        return f"{points:+.2f} (n?)"
    d = accuracy_drop(base, other)
    if d.significant:
        return f"{d.points:+.1f} [{d.low_points:+.1f}, {d.high_points:+.1f}]"
    return f"{d.points:+.1f} (n.s., ±{max(d.high_points - d.points, d.points - d.low_points):.1f})"


def _drop(r: dict[str, Any], kind: str) -> str | None:
    """Drop vs the dense baseline (+ = worse), measured on the same test split."""
    d = r.get("accuracy_drop")
    if d is None:
        return None
    n = _n_test(r)
    base = _acc((r.get("baseline") or {}).get(kind), (r.get("baseline") or {}).get("n_test", n))
    return _drop_cell(base, _acc(r["accuracy"][kind], n), 100.0 * d[kind])


def _quant_gap(r: dict[str, Any]) -> str | None:
    """int8 - float on the same clips (+ = int8 better), with the interval of the difference."""
    acc, n = r["accuracy"], _n_test(r)
    gap = acc.get("int8_minus_float")
    if gap is None:
        return None
    return _drop_cell(_acc(acc["int8"], n), _acc(acc["float"], n), 100.0 * gap)  # int8 - float


BASE_COLUMNS = [
    Column("model", lambda r: r["name"]),
    Column("granularity", lambda r: r.get("granularity", "none")),
    Column("target sparsity %", lambda r: _pct(r.get("target_sparsity")), "{:.0f}"),
    Column("weight sparsity %", lambda r: _pct(r["sparsity"]), "{:.1f}"),
    Column("test clips", lambda r: _n_test(r)),
    Column("float acc %", lambda r: _acc_cell(r["accuracy"]["float"], _n_test(r))),
    Column("int8 acc % (TFLM)", lambda r: _acc_cell(r["accuracy"]["int8"], _n_test(r))),
    Column("int8 - float (pts)", _quant_gap),
    Column("int8 drop vs dense (pts, + = worse)", lambda r: _drop(r, "int8")),
    Column("weights (nonzero)", lambda r: f"{r['size']['nonzero_weights']}/{r['size']['weights']}"),
    Column("MACs", lambda r: r["size"]["macs"], "{:,}"),
    Column("weights KiB dense", lambda r: r["size"]["weight_bytes_dense"] / 1024, "{:.1f}"),
    Column("weights KiB sparse fmt", lambda r: r["size"]["weight_bytes_compressed"] / 1024, "{:.1f}"),
    Column("tflite bytes", lambda r: r["size"]["tflite_bytes"], "{:,}"),
]


def _device(r: dict[str, Any], board: str) -> dict[str, Any]:
    return (r.get("device") or {}).get(board) or {}


def _ms_at_216(dev: dict[str, Any]) -> float | None:
    """Milliseconds per inference at 216 MHz: cycles / 216 MHz on a board; on the emulator an
    estimate at one instruction per cycle (labelled as such in the column header)."""
    try:
        median = float(dev["latency"]["frame"]["median"])
    except (KeyError, TypeError):
        return None
    return median / 216e6 * 1e3


def _device_columns(board: str, unit: str) -> list[Column]:
    """The figures a user compares across models for one board; the unit is in every header."""
    est = " (estimate, 1 instr/cycle)" if unit == "instructions" else ""
    return [
        Column(f"{board} {unit}/inference (median)",
               lambda r: _device(r, board)["latency"]["frame"]["median"], "{:,.0f}"),
        Column(f"{board} ms @216 MHz{est}", lambda r: _ms_at_216(_device(r, board)), "{:.1f}"),
        Column(f"{board} backends", lambda r: _device(r, board)["firmware"]["backends"]),
        Column(f"{board} flash B", lambda r: _device(r, board)["memory"]["flash_bytes"], "{:,}"),
        Column(f"{board} RAM B", lambda r: _device(r, board)["memory"]["ram_bytes"], "{:,}"),
        Column(f"{board} arena B", lambda r: _device(r, board)["memory"]["arena_bytes"], "{:,}"),
        Column(f"{board} on-device acc %", lambda r: _acc_cell(_device(r, board)["accuracy"]["device_accuracy"],
                                                               _device(r, board)["accuracy"].get("items"))),
        Column(f"{board} bit-exact vs TFLM %",
               lambda r: _pct(_device(r, board)["accuracy"]["bit_exact_agreement"]), "{:.1f}"),
        Column(f"{board} stream frontend {unit}/hop (max)",
               lambda r: _device(r, board)["stream"]["frontend_per_hop_max"], "{:,}"),
        Column(f"{board} stream {unit}/classification (max)",
               lambda r: _device(r, board)["stream"]["classification_max"], "{:,}"),
        # the same stream with incremental inference (edgekws stream device --incremental): only new rows
        # (its inference maximum is the priming call, the whole window row by row, so it is not a column)
        Column(f"{board} incremental stream {unit}/classification (max)",
               lambda r: _device(r, board)["stream_incremental"]["classification_max"], "{:,}"),
    ]


def evaluation_names(reports: list[dict[str, Any]]) -> list[str]:
    """Dataset names under any report's ``evaluations``, in order of first appearance."""
    names: list[str] = []
    for r in reports:
        for name, ev in (r.get("evaluations") or {}).items():
            if isinstance(ev, dict) and name not in names:
                names.append(name)
    return names


def evaluation_boards(reports: list[dict[str, Any]], name: str) -> list[str]:
    """Boards with device figures for evaluation ``name`` in any report."""
    boards: list[str] = []
    for r in reports:
        for board in sorted(((r.get("evaluations") or {}).get(name) or {}).get("device") or {}):
            if board not in boards:
                boards.append(board)
    return boards


def _ci_cell(d: dict[str, Any] | None) -> str | None:
    """``45.0 [41.2-48.9]``: an accuracy dict of edgekws.metrics with its 95 % interval (percent)."""
    if not d:
        return None
    return Accuracy(int(d["correct"]), int(d["n"]), float(d["ci_low"]), float(d["ci_high"])).cell()


def _evaluation(r: dict[str, Any], name: str) -> dict[str, Any]:
    return (r.get("evaluations") or {}).get(name) or {}


def _evaluation_columns(name: str, boards: list[str]) -> list[Column]:
    """Real-data accuracy (12-class, keywords) with intervals, false accepts, and per board the device's."""
    cols = [
        Column(f"{name} int8 acc % [95 % CI]", lambda r: _ci_cell(_evaluation(r, name)["accuracy"])),
        Column(f"{name} keyword acc % [95 % CI]", lambda r: _ci_cell(_evaluation(r, name)["keyword_accuracy"])),
        Column(f"{name} false accepts %", lambda r: _pct(_evaluation(r, name)["false_accepts"]["rate"]), "{:.1f}"),
    ]
    for board in boards:
        cols.append(Column(f"{name} on {board} acc % [95 % CI]",
                           lambda r, b=board: _ci_cell(_evaluation(r, name)["device"][b]["accuracy"])))
    return cols


def _counter_unit(dev: dict[str, Any]) -> str:
    """The board's counter unit: the bench's, else that of a stream run merged on its own."""
    for entry in (dev, dev.get("stream"), dev.get("stream_incremental")):
        if isinstance(entry, dict) and entry.get("counter_unit"):
            return str(entry["counter_unit"])
    return "ticks"


def columns_for(reports: list[dict[str, Any]]) -> list[Column]:
    """Base columns plus, per board found under any report's ``device`` key, its latency
    (with its counter unit: cycles on a board, instructions in the emulator), memory and
    on-device accuracy columns. The full device figures stay in report.json / comparison.json."""
    boards: dict[str, str] = {}
    for r in reports:
        for board, dev in sorted((r.get("device") or {}).items()):
            if isinstance(dev, dict):
                boards.setdefault(board, _counter_unit(dev))
    cols = list(BASE_COLUMNS)
    at = next(i for i, c in enumerate(cols) if c.header == "int8 acc % (TFLM)") + 1
    for name in reversed(evaluation_names(reports)):
        cols[at:at] = _evaluation_columns(name, evaluation_boards(reports, name))
    for board, unit in boards.items():
        cols += _device_columns(board, unit)
    return cols


def load_reports(bundles: list[str | Path]) -> list[dict[str, Any]]:
    """report.json of each bundle (or a report.json path), with the bundle name/hash attached."""
    out = []
    for b in bundles:
        p = Path(b)
        rp = p / "report.json" if p.is_dir() else p
        try:
            r = json.loads(rp.read_text())
        except FileNotFoundError:
            raise BundleError(f"{rp} does not exist") from None
        except json.JSONDecodeError as exc:
            raise BundleError(f"{rp} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
        for key in ("name", "accuracy", "size", "sparsity"):
            if key not in r:
                raise BundleError(f"{rp} is not a model report (no {key!r})")
        bj = rp.with_name("bundle.json")
        if bj.is_file():
            with contextlib.suppress(json.JSONDecodeError):
                meta = json.loads(bj.read_text())
                r["_bundle_hash"] = meta.get("bundle_hash")
                r["_provenance"] = ImportProvenance.from_recipe(meta.get("recipe"))
        r["_path"] = str(p)
        out.append(r)
    if not out:
        raise BundleError("no reports given")
    return out


def markdown_table(reports: list[dict[str, Any]], cols: list[Column]) -> str:
    lines = ["| " + " | ".join(c.header for c in cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for r in reports:
        lines.append("| " + " | ".join(c.cell(r) for c in cols) + " |")
    return "\n".join(lines)


def html_table(reports: list[dict[str, Any]], cols: list[Column]) -> str:
    head = "".join(f"<th>{html.escape(c.header)}</th>" for c in cols)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(c.cell(r))}</td>" for c in cols) + "</tr>" for r in reports)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _timings_lines(reports: list[dict[str, Any]]) -> list[str]:
    lines = []
    for r in reports:
        t = r.get("timings") or {}
        if t:
            parts = ", ".join(f"{k.removesuffix('_s')} {v:.1f} s" for k, v in t.items() if isinstance(v, (int, float)))
            lines.append(f"- **{r['name']}**: {parts}")
    return lines


def _findings(reports: list[dict[str, Any]]) -> list[str]:
    """One sentence per model: the int8-vs-float gap and the drop against the dense model."""
    out = []
    for r in reports:
        acc, n = r["accuracy"], _n_test(r)
        f_acc, q_acc = _acc(acc["float"], n), _acc(acc["int8"], n)
        if f_acc and q_acc:
            gap = accuracy_drop(f_acc, q_acc)  # float -> int8
            s = (f"- **{r['name']}**: float {f_acc.format()}, int8 {q_acc.format()} "
                 f"(quantization: {gap.format()})")
        elif acc.get("int8") is None:
            s = f"- **{r['name']}**: no test-set accuracy (the bundle has no test set)"
        else:
            s = (f"- **{r['name']}**: float {acc['float'] * 100:.2f} %, int8 {acc['int8'] * 100:.2f} % "
                 f"({acc['int8_minus_float'] * 100:+.2f} pts vs float; test-set size unknown, no interval)")
        if r.get("accuracy_drop"):
            base = r.get("baseline") or {}
            b_n = base.get("n_test", n)
            b_f, b_q = _acc(base.get("float"), b_n), _acc(base.get("int8"), b_n)
            if b_q and q_acc and b_f and f_acc:
                drops = f"int8 {accuracy_drop(b_q, q_acc).format()}, float {accuracy_drop(b_f, f_acc).format()}"
            else:
                drops = (f"{r['accuracy_drop']['int8'] * 100:+.2f} pts int8, "
                         f"{r['accuracy_drop']['float'] * 100:+.2f} pts float (no interval)")
            s += (f"; vs dense {base.get('name', 'baseline')}: {drops} "
                  f"at {r['sparsity'] * 100:.1f} % weight sparsity, {r['size']['macs']:,} MACs")
        for name, ev in (r.get("evaluations") or {}).items():
            if isinstance(ev, dict) and ev.get("accuracy"):
                a, k = ev["accuracy"], ev["keyword_accuracy"]
                s += (f"; {name} ({ev.get('clips', a['n'])} clips): {_fmt_acc(a)} 12-class, "
                      f"{_fmt_acc(k)} on keywords, false accepts {ev['false_accepts']['rate'] * 100:.1f} %")
        out.append(s)
    return out


def _fmt_acc(d: dict[str, Any]) -> str:
    return Accuracy(int(d["correct"]), int(d["n"]), float(d["ci_low"]), float(d["ci_high"])).format()


def _evaluation_lines(reports: list[dict[str, Any]]) -> list[str]:
    """What each evaluation column measured (dataset, split, clips, command) and the data's credit."""
    lines = []
    for name in evaluation_names(reports):
        ev = next(_evaluation(r, name) for r in reports if _evaluation(r, name))
        ds = ev.get("dataset") or {}
        lines.append(f"- `{name}`: {ds.get('clips', '?')} clips ({ds.get('split', '?')} split from "
                     f"{ds.get('split_rule', '?')}), int8 on {ev.get('runtime', 'tflite-micro')}, every accuracy with "
                     f"its 95 % Wilson interval; `edgekws evaluate BUNDLE --data {ds.get('root', 'DIR')}`")
    if lines:
        lines.append(f"- {SPEECH_COMMANDS_CREDIT}")
    return lines


def _provenance_lines(reports: list[dict[str, Any]], *, as_html: bool = False) -> list[str]:
    """One line per imported model (or one started from an imported model's weights): source file, its
    sha256, the credit its licence asks for, the options.

    Empty when no model was imported (models trained here carry no third-party credit to show).
    Markdown items by default, ``<li>`` items (every value escaped) with ``as_html``.
    """
    def code(text: str) -> str:
        return f"<code>{html.escape(text)}</code>" if as_html else f"`{text}`"

    def plain(text: str) -> str:
        return html.escape(text) if as_html else text

    lines = []
    for r in reports:
        prov: ImportProvenance | None = r.get("_provenance")
        if prov is None:
            continue
        credit = (plain(f"{prov.credit} (from {prov.credit_from})") if prov.credit
                  else f"none recorded ({code('edgekws import --credit TEXT')} records it)")
        line = f"imported from {code(prov.source)} (sha256 {code(prov.source_sha256)}); credit: {credit}"
        if prov.derived_from:
            line = f"fine-tuned here from {plain(prov.derived_from)}, " + line
        if prov.options:
            line += f"; import options: {code(prov.command_options())}"
        name = str(r["name"])
        lines.append(f"<li><b>{html.escape(name)}</b>: {line}</li>" if as_html else f"- **{name}**: {line}")
    return lines


CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}
th{background:#f0f0f0}td:first-child,td:nth-child(2){text-align:left}img{max-width:100%;margin:6px 0}
h2{border-bottom:1px solid #ddd;padding-bottom:3px}code{background:#f5f5f5;padding:1px 3px}"""


def write_report(bundles: list[str | Path], out_dir: str | Path, title: str = "edgekws model comparison",
                 ablations: list[str | Path] = ()) -> dict[str, Path]:
    """Write report.md (+ figures/*.png), report.html (self-contained) and comparison.json to ``out_dir``.

    ``ablations``: study JSONs (:mod:`edgekws.report.ablation`) shown as tables + plots after the
    comparison, so the real-speech figure of each training step sits beside the models it produced.
    """
    from edgekws.report import ablation as abl

    reports = load_reports(bundles)
    studies = [abl.load_ablation(a) for a in ablations]  # a bad file stops here, before anything is written
    out = Path(out_dir)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    cols = columns_for(reports)
    figs: list[tuple[str, str, bytes]] = [
        ("accuracy_vs_sparsity", "Accuracy vs sparsity per granularity", figures.accuracy_vs_sparsity(reports)),
        ("size_vs_sparsity", "Size and MACs vs sparsity", figures.size_vs_sparsity(reports)),
        ("int8_vs_float", "int8 (TFLite Micro) vs float accuracy", figures.int8_vs_float(reports)),
    ]
    if evaluation_names(reports):
        figs.append(("synthetic_vs_real", "Synthetic test vs real-speech accuracy (int8, 95 % intervals)",
                     figures.synthetic_vs_real(reports)))
    if figures.has_device_figures(reports):
        figs += [
            ("accuracy_vs_latency", "Accuracy vs on-device latency", figures.accuracy_vs_latency(reports)),
            ("latency_vs_sparsity", "On-device latency vs sparsity per granularity",
             figures.latency_vs_sparsity(reports)),
        ]
    per_model: list[tuple[str, list[tuple[str, str, bytes]]]] = []
    for i, r in enumerate(reports):
        items = []
        curves = figures.training_curves(r)
        if curves is not None:
            items.append((f"model{i}_training", "training curves", curves))
        if r.get("confusion"):  # an import without a test set has none
            items.append((f"model{i}_confusion", "confusion matrix (int8, test)", figures.confusion(r)))
        for k, (name, ev) in enumerate((r.get("evaluations") or {}).items()):
            if isinstance(ev, dict) and ev.get("confusion"):
                items.append((f"model{i}_confusion_eval{k}", f"confusion matrix (int8, {name})",
                              figures.confusion(r, matrix=ev["confusion"], subtitle=f"int8, {name}")))
        per_model.append((r["name"], items))

    study_figs = [(f"ablation{i}", ab, abl.plot(ab)) for i, ab in enumerate(studies)]
    for stem, _, png in figs + [it for _, items in per_model for it in items]:
        write_atomic(out / "figures" / f"{stem}.png", png)
    for stem, _, png in study_figs:
        write_atomic(out / "figures" / f"{stem}.png", png)

    md = [f"# {title}", "", f"{len(reports)} model(s). Accuracy on the test split; int8 measured with TFLite Micro.",
          "Sizes: `weights KiB sparse fmt` estimates the storage of the sparse format matching each granularity;",
          "a filter-pruned model is dense and smaller.", ACCURACY_LEGEND, "", "## Comparison", "",
          markdown_table(reports, cols), "",
          *_evaluation_lines(reports), "", "## Findings", "", *_findings(reports), ""]
    for stem, caption, _ in figs:
        md += [f"### {caption}", "", f"![{caption}](figures/{stem}.png)", ""]
    if study_figs:
        md += ["## Real-speech ablations", ""]
        for stem, ab, _ in study_figs:
            md += abl.markdown(ab, f"figures/{stem}.png")
    timing = _timings_lines(reports)
    if timing:
        md += ["## Timings", "", *timing, ""]
    for name, items in per_model:
        if items:
            md += [f"## {name}", ""] + [f"![{name} {c}](figures/{s}.png)" for s, c, _ in items] + [""]
    provenance = _provenance_lines(reports)
    if provenance:
        md += ["## Provenance / licence", "", *provenance, ""]
    md += ["## Sources", ""] + [f"- `{r['_path']}` bundle_hash `{r.get('_bundle_hash') or '-'}`" for r in reports]
    write_atomic(out / "report.md", ("\n".join(md) + "\n").encode())

    def img(png: bytes, alt: str) -> str:
        return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'

    evals = _evaluation_lines(reports)
    body = [f"<h1>{html.escape(title)}</h1>", f"<p>{html.escape(ACCURACY_LEGEND)}</p>", "<h2>Comparison</h2>",
            html_table(reports, cols),
            ("<ul>" + "".join(f"<li>{html.escape(t[2:]).replace('`', '')}</li>" for t in evals) + "</ul>")
            if evals else "",
            "<h2>Findings</h2><ul>"
            + "".join(f"<li>{html.escape(s[2:]).replace('**', '')}</li>" for s in _findings(reports)) + "</ul>"]
    for _, caption, png in figs:
        body.append(f"<h3>{html.escape(caption)}</h3>{img(png, caption)}")
    if study_figs:
        body.append("<h2>Real-speech ablations</h2>")
    for _, ab, png in study_figs:
        rows = abl.table_rows(ab)
        body.append(f"<h3>Real-speech ablation: {html.escape(ab.title)}</h3><table><tr>"
                    + "".join(f"<th>{html.escape(h)}</th>" for h in rows[0]) + "</tr>"
                    + "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows[1:])
                    + f"</table><p>Source: {html.escape(ab.source)}</p>{img(png, ab.title)}")
    if timing:
        body.append("<h2>Timings</h2><ul>" + "".join(f"<li>{html.escape(t[2:]).replace('**', '')}</li>"
                                                       for t in timing) + "</ul>")
    for name, items in per_model:
        if items:
            body.append(f"<h2>{html.escape(name)}</h2>" + "".join(img(p, c) for _, c, p in items))
    if provenance:
        body.append("<h2>Provenance / licence</h2><ul>" + "".join(_provenance_lines(reports, as_html=True))
                    + "</ul>")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>\n")
    write_atomic(out / "report.html", page.encode())
    summary = [{c.header: c.cell(r) for c in cols} | {"path": r["_path"], "bundle_hash": r.get("_bundle_hash")}
               for r in reports]
    write_atomic(out / "comparison.json", (json.dumps(summary, indent=2) + "\n").encode())
    return {"markdown": out / "report.md", "html": out / "report.html", "json": out / "comparison.json"}
