"""What a host reference task is: one object that names its configs and its four stages.

Why a declared object rather than free functions per task: the CLI
(``edgekws task NAME data|train|eval|report``), the run-directory bookkeeping and
the report format are the same for every task, so :mod:`edgekws.tasks.runner`
drives any task through this interface and a new task only supplies its parts:

* ``data``: a synthetic generator writing the *real* dataset's on-disk layout with
  exact ground truth (its config dataclass: ``data_config``);
* ``train``: loads a dataset folder in that layout with the task's loader, trains
  the task's models (config: ``train_config``) into a run directory;
* ``evaluate``: the task's metrics on the run's test split, into ``metrics.json``;
* ``report``: Markdown + HTML with plots (:mod:`edgekws.tasks.report`), the
  published anchors quoted as anchors beside our figures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol


class ProgressFn(Protocol):
    """``progress(description, done, total)``: called as work advances (``total`` None if unknown)."""

    def __call__(self, description: str, done: int, total: int | None) -> None: ...


def no_progress(description: str, done: int, total: int | None) -> None:
    """The progress callback of library calls and tests: does nothing."""
    del description, done, total


@dataclass(frozen=True)
class Anchor:
    """A published figure we compare against; always printed as the paper's, never as ours."""

    system: str
    metric: str
    value: float
    source: str
    data: str


@dataclass(frozen=True)
class Task:
    """A task's parts. The four callables take resolved configs and directories; they never parse CLI text."""

    name: str
    summary: str
    layout: str  # the real dataset's on-disk layout, one line (CLI help, README)
    data_config: type
    train_config: type
    generate: Callable[[Path, Any, ProgressFn], dict[str, Any]]
    train: Callable[[Path, Path, Any, ProgressFn], dict[str, Any]]
    evaluate: Callable[[Path, Path | None, ProgressFn], dict[str, Any]]
    report: Callable[[Path, Path], dict[str, Path]]
    anchors: tuple[Anchor, ...] = ()
