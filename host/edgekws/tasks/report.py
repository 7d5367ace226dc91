"""The report every task writes: report.md (+ figures/*.png beside it), report.html (self-contained), report.json.

Same format as the KWS model comparison (:mod:`edgekws.report.render`): a Markdown
twin that diffs well in a pull request, one HTML page with the PNGs embedded, and
the machine-readable figures beside them. Tasks hand over plain tables, findings
and PNG bytes; this module only lays them out, so every task's report reads alike.
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgekws.fsutil import write_atomic
from edgekws.report.render import CSS


@dataclass(frozen=True)
class Table:
    title: str
    header: list[str]
    rows: list[list[str]]
    note: str = ""


@dataclass(frozen=True)
class Figure:
    stem: str
    caption: str
    png: bytes


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown_table(t: Table) -> list[str]:
    lines = [f"## {t.title}", ""]
    if t.note:
        lines += [t.note, ""]
    lines.append("| " + " | ".join(_md_cell(h) for h in t.header) + " |")
    lines.append("|" + "|".join("---" for _ in t.header) + "|")
    lines += ["| " + " | ".join(_md_cell(c) for c in r) + " |" for r in t.rows]
    return [*lines, ""]


def html_table(t: Table) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in t.header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in t.rows)
    note = f"<p>{html.escape(t.note)}</p>" if t.note else ""
    return f"<h2>{html.escape(t.title)}</h2>{note}<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_task_report(out: Path, title: str, intro: list[str], tables: list[Table], findings: list[str],
                      figures: list[Figure], data: dict[str, Any]) -> dict[str, Path]:
    """Write the three files (and the PNGs) into ``out``; returns their paths by kind."""
    out = Path(out)
    for f in figures:
        write_atomic(out / "figures" / f"{f.stem}.png", f.png, mkdir=True)
    md = [f"# {title}", "", *[p + "\n" for p in intro]]
    for t in tables:
        md += markdown_table(t)
    md += ["## Findings", "", *[f"- {s}" for s in findings], ""]
    for f in figures:
        md += [f"### {f.caption}", "", f"![{f.caption}](figures/{f.stem}.png)", ""]
    write_atomic(out / "report.md", ("\n".join(md) + "\n").encode(), mkdir=True)

    body = [f"<h1>{html.escape(title)}</h1>", *[f"<p>{html.escape(p).replace('`', '')}</p>" for p in intro]]
    body += [html_table(t) for t in tables]
    body.append("<h2>Findings</h2><ul>" + "".join(f"<li>{html.escape(s).replace('`', '')}</li>" for s in findings)
                + "</ul>")
    for f in figures:
        b64 = base64.b64encode(f.png).decode()
        body.append(f"<h3>{html.escape(f.caption)}</h3>"
                    f"<img alt=\"{html.escape(f.caption)}\" src=\"data:image/png;base64,{b64}\">")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>\n")
    write_atomic(out / "report.html", page.encode(), mkdir=True)
    write_atomic(out / "report.json", (json.dumps(data, indent=2, allow_nan=False) + "\n").encode(), mkdir=True)
    return {"markdown": out / "report.md", "html": out / "report.html", "json": out / "report.json"}
