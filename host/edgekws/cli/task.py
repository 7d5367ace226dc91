"""CLI of the 'task' area: ``edgekws task NAME data|train|eval|report`` for every registered host task.

A thin layer over :mod:`edgekws.tasks.runner`: options become a config (defaults,
then ``--config FILE``, then ``--set KEY=VALUE``), long work shows rich progress bars
on stderr, and every stage prints where it wrote its results.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from edgekws.tasks import REGISTRY

_err = Console(stderr=True)

SET_HELP = "Config override KEY=VALUE (dotted keys, lists comma-separated); repeatable. --show-config lists keys."


@contextmanager
def _bars() -> Iterator:
    """Rich bars on stderr, one per description; nothing is drawn before the first update, so an input
    error found before any work prints only its one ``error:`` line."""
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=_err, transient=False)
    ids: dict[str, int] = {}

    def update(description: str, done: int, total: int | None) -> None:
        if not ids:
            progress.start()
        if description not in ids:
            ids[description] = progress.add_task(description, total=total)
        progress.update(ids[description], completed=done, total=total)

    try:
        yield update
    except BaseException:
        # an input error found mid-way (a bad file among many): take the bars away so the error stays
        # the one line the user sees
        progress.live.transient = True
        raise
    finally:
        if ids:
            progress.stop()


def _show(cfg: object) -> None:
    from edgekws.tasks.configs import describe

    for line in describe(cfg):
        print(line)


def _task_app(name: str, summary: str) -> typer.Typer:
    app = typer.Typer(help=summary, no_args_is_help=True)

    @app.command("data")
    def data(
        out: Path = typer.Option(..., "--out", help="Folder to write the synthetic dataset into (real layout)."),
        overrides: list[str] = typer.Option([], "--set", help=SET_HELP),
        config: Path | None = typer.Option(None, "--config", help="JSON config (whole or partial)."),
        show_config: bool = typer.Option(False, "--show-config", help="Print the resolved config and exit."),
    ) -> None:
        """Generate the task's synthetic dataset, in the real dataset's on-disk layout, with exact ground truth."""
        from edgekws.tasks import get_task
        from edgekws.tasks.runner import resolve_config, run_data

        task = get_task(name)
        if show_config:
            _show(resolve_config(task.data_config, overrides, config))
            return
        with _bars() as bar:
            summary = run_data(task, out, overrides, config, bar)
        print(f"{out}: {', '.join(f'{k} {v if not isinstance(v, list) else len(v)}' for k, v in summary.items())}")

    @app.command("train")
    def train(
        data: Path = typer.Option(..., "--data", help="Dataset folder in the task's layout (real or generated)."),
        out: Path = typer.Option(..., "--out", help="Run directory to write (models, composed splits, config)."),
        overrides: list[str] = typer.Option([], "--set", help=SET_HELP),
        config: Path | None = typer.Option(None, "--config", help="JSON config (whole or partial, or a task.json)."),
        show_config: bool = typer.Option(False, "--show-config", help="Print the resolved config and exit."),
    ) -> None:
        """Train the task's models on a dataset folder into a run directory."""
        from edgekws.tasks import get_task
        from edgekws.tasks.runner import resolve_config, run_train

        task = get_task(name)
        if show_config:
            _show(resolve_config(task.train_config, overrides, config))
            return
        with _bars() as bar:
            summary = run_train(task, data, out, overrides, config, bar)
        trained = summary.get("variants", {})
        print(f"{out}: trained {', '.join(trained)}")

    @app.command("eval")
    def evaluate(
        run: Path = typer.Argument(..., help="Run directory written by 'train'."),
        data: Path | None = typer.Option(None, "--data", help="Dataset folder (default: the one it trained on)."),
    ) -> None:
        """Score the run's models on its test split; writes RUN/metrics.json."""
        from edgekws.tasks import get_task
        from edgekws.tasks.runner import METRICS, run_eval

        with _bars() as bar:
            run_eval(get_task(name), run, data, bar)
        print(f"{run / METRICS}")

    @app.command("report")
    def report(
        run: Path = typer.Argument(..., help="Evaluated run directory."),
        out: Path | None = typer.Option(None, "--out", help="Report folder (default RUN/report)."),
    ) -> None:
        """Write report.md, report.html (with plots) and report.json."""
        from edgekws.tasks import get_task
        from edgekws.tasks.runner import run_report

        paths = run_report(get_task(name), run, out)
        print(f"{paths['markdown']}\n{paths['html']}")

    return app


def register(app: typer.Typer) -> None:
    """Add ``task NAME ...`` for every registered task."""
    group = typer.Typer(help="Host reference models of the other audio tasks: data, train, eval, report.",
                        no_args_is_help=True)
    for name, (_, summary) in REGISTRY.items():
        group.add_typer(_task_app(name, summary), name=name)
    app.add_typer(group, name="task")
