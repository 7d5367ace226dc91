"""CLI of the 'report' area: ``edgekws report BUNDLE... --out DIR``."""

from __future__ import annotations

from pathlib import Path

import typer


def report(
    bundles: list[Path] = typer.Argument(..., help="Bundle folders (or report.json files) to compare."),
    out: Path = typer.Option(..., "--out", help="Output folder for report.md, report.html, comparison.json."),
    title: str = typer.Option("edgekws model comparison", "--title"),
    ablation: list[Path] = typer.Option([], "--ablation",
                                        help="Real-speech study JSON (benchmarks/results/*.json); repeatable."),
) -> None:
    """Write a Markdown + HTML comparison report (accuracy/size vs sparsity, int8 vs float, confusion)."""
    from edgekws.report import write_report

    paths = write_report(bundles, out, title=title, ablations=ablation)
    print(f"{paths['markdown']}\n{paths['html']}")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.command("report")(report)
