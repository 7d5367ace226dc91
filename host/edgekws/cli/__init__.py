"""The ``edgekws`` command line: a thin typer layer over library functions.

Each area registers its commands from its own module (``cli/<area>.py``) so the
CLI grows without one file owning everything. ``main`` turns user-facing
errors into one line on stderr and a non-zero exit, never a traceback (set
``EDGEKWS_DEBUG=1`` to see one).
"""

from __future__ import annotations

import importlib
import os
import sys

import typer

from edgekws.errors import EdgeKwsError

AREAS = ("data", "frontend", "train", "compress", "export", "report", "firmware", "bench", "stream", "evaluate",
         "teacher", "importer", "task")


def build_app() -> typer.Typer:
    """Create the root app and let every area module add its commands."""
    app = typer.Typer(
        name="edgekws",
        help="Keyword spotting for Cortex-M: data, train, prune, quantize, export, firmware, bench.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )

    @app.callback()
    def root() -> None:
        """Keyword spotting for Cortex-M microcontrollers."""

    @app.command()
    def version() -> None:
        """Print the edgekws version."""
        from edgekws import __version__

        print(__version__)

    for area in AREAS:
        module = importlib.import_module(f"edgekws.cli.{area}")
        module.register(app)
    return app


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    app = build_app()
    try:
        rv = app(args=argv, prog_name="edgekws", standalone_mode=False)
        # like standalone mode: always end with SystemExit (typer.Exit(code) comes back as rv)
        sys.exit(rv if isinstance(rv, int) else 0)
    except EdgeKwsError as exc:
        if os.environ.get("EDGEKWS_DEBUG"):
            raise
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # noqa: BLE001 - last line of defence, still one line
        if os.environ.get("EDGEKWS_DEBUG"):
            raise
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
            # click-style usage error (bad option, missing argument): one line, exit 2
            msg = " ".join(str(exc.format_message()).split())
            print(f"error: {msg} (see 'edgekws --help')", file=sys.stderr)
            sys.exit(int(exc.exit_code) or 2)
        if type(exc).__name__ == "Abort":
            print("error: aborted", file=sys.stderr)
            sys.exit(1)
        print(f"error: internal error ({type(exc).__name__}: {exc}); rerun with EDGEKWS_DEBUG=1 for a traceback",
              file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
