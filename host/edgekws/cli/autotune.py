"""CLI: ``edgekws export autotune BUNDLE [--board mps2_an500]``.

A thin layer over :func:`edgekws.export.autotune.autotune`. It lives in its own
module so the export area only needs one line to mount it
(``add_to(export_app)`` in cli/export.py); ``register(app)`` mounts the same
command as ``edgekws autotune`` for the root app's AREAS list.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

_err = Console(stderr=True)


def autotune_cmd(
    bundle: Path = typer.Argument(..., help="model bundle directory (bundle.json is updated in place)"),
    board: str = typer.Option("mps2_an500", "--board", help="emulated board to measure on (QEMU -icount)"),
    backend: list[str] = typer.Option(None, "--backend", "-b",
                                      help="limit the candidates (repeatable; default: every eligible backend)"),
    work: Path = typer.Option(None, "--work", help="cache of builds and measurements "
                                                   "(default: $EDGEKWS_AUTOTUNE_DIR or ~/.cache/edgekws/autotune)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="measure and print, do not change the bundle"),
) -> None:
    """Measure every eligible backend per layer in the emulator, keep the fastest, verify bit-exactness, and
    record the choice (layers[i].backend + an 'autotune' table) in BUNDLE's bundle.json."""
    from edgekws.export.autotune import autotune, bundle_layers, candidate_backends
    from edgekws.export.bundle import load_bundle

    load_bundle(bundle)  # a missing or corrupt bundle is one line, before any work
    n = len(backend) if backend else len(candidate_backends(bundle_layers(bundle)))
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=_err) as bar:
        task = bar.add_task("autotune", total=n + 1)

        def step(msg: str) -> None:
            done = int(msg.split("/", 1)[0].lstrip("[")) - 1 if msg.startswith("[") else 0
            bar.update(task, completed=done, description=msg)

        res = autotune(bundle, board=board, work_dir=work, backends=backend or None, write=not dry_run,
                       progress=step)
        bar.update(task, completed=n + 1, description="done")
    unit = res.record["unit"]
    out = Console(width=max(140, Console().width))  # a wide table: never elide the figures
    table = Table(title=f"edgekws export autotune: {bundle} on {board} ({unit} per inference)")
    table.add_column("#", justify="right")
    table.add_column("layer")
    table.add_column("op")
    for b in res.table:
        table.add_column(b, justify="right", no_wrap=True)
    table.add_column("chosen")
    for row in res.record["layers"]:
        cells = [str(row["counts"].get(b, "-")) for b in res.table]
        table.add_row(str(row["index"]), row["name"], row["op"], *cells, row["chosen"])
    totals = [str(res.record["totals"][b]) for b in res.table]
    table.add_row("", "total (uniform)", "", *totals, str(res.record["total"]))
    out.print(table)
    verdict = "not written (--dry-run)" if dry_run else "written to bundle.json"
    out.print(f"autotuned total {res.record['total']} {unit}, self-test bit-exact; {verdict}")


def add_to(export_app: typer.Typer) -> None:
    """Mount ``autotune`` under the ``export`` command group."""
    export_app.command("autotune")(autotune_cmd)


def register(app: typer.Typer) -> None:
    """Mount ``autotune`` on the root app (when listed in cli.AREAS)."""
    app.command("autotune")(autotune_cmd)
