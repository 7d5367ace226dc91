"""CLI commands of the 'export' area: ``edgekws export c BUNDLE OUT``.

A thin layer over :func:`edgekws.export.codegen_c.export_c`; export takes well
under a second for KWS-sized models, so a status spinner replaces a progress bar.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

_err = Console(stderr=True)


def register(app: typer.Typer) -> None:
    """Add ``export`` (with its ``c`` command) to the root app."""
    export_app = typer.Typer(help="Export a model bundle for the firmware.", no_args_is_help=True)

    @export_app.command("c")
    def export_c_cmd(
        bundle: Path = typer.Argument(..., help="model bundle directory (bundle.json + model.tflite)"),
        out: Path = typer.Argument(..., help="output directory for edgekws_model.{h,c} and edgekws_selftest.c"),
        selftest: int = typer.Option(16, "--selftest", min=1, help="number of embedded self-test vectors"),
        max_arena_kb: int = typer.Option(448, "--max-arena-kb", min=1, help="fail if the activation arena is larger"),
        max_weights_kb: int = typer.Option(1792, "--max-weights-kb", min=1, help="fail if the model constants are larger"),
    ) -> None:
        """Generate the firmware C (weights, layer table, arena plan, self-test vectors) for BUNDLE into OUT."""
        from edgekws.export.codegen_c import ExportOptions, export_c, summarize_export

        opts = ExportOptions(selftest_count=selftest, max_arena_bytes=max_arena_kb * 1024,
                             max_weights_bytes=max_weights_kb * 1024)
        with _err.status("generating C ..."):
            files = export_c(bundle, out, opts)
        info = summarize_export(out)
        table = Table(title=f"edgekws export c: {info['name']}")
        table.add_column("item")
        table.add_column("value", justify="right")
        for key in ("layers", "backends", "arena_bytes", "weights_bytes", "selftest_count", "bundle_hash"):
            table.add_row(key, str(info[key]))
        for f in files:
            table.add_row("wrote", str(f))
        Console().print(table)
        if not any(f.name == "edgekws_frontend_tables.h" for f in files):
            from edgekws.export.codegen_c import bundle_frontend_reason

            reason = bundle_frontend_reason(bundle)
            _err.print(f"note: no device frontend: {reason}; the firmware takes features only (device audio "
                       "mode and streaming are refused)", markup=False, highlight=False)

    from edgekws.cli.autotune import add_to

    add_to(export_app)
    app.add_typer(export_app, name="export")
