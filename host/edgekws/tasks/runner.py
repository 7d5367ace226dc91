"""Drive any task through its stages, with the run-directory bookkeeping every task shares.

A *run directory* is what ``train`` writes and ``eval``/``report`` read:
``task.json`` (task name, edgekws version, the dataset folder, the resolved train
config) plus whatever the task stores (models, composed splits, normalisation),
then ``metrics.json`` from ``eval`` and ``report/`` from ``report``. A synthetic
dataset folder gets ``edgekws_task_data.json`` (task and generator config) beside
the layout it writes, so both kinds of folders say how they were made.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from edgekws.errors import ConfigError, DatasetError
from edgekws.tasks.base import ProgressFn, Task, no_progress
from edgekws.tasks.configs import apply_overrides, from_dict, to_dict
from edgekws.tasks.datasets import require_dir

RUN_INFO = "task.json"
DATA_INFO = "edgekws_task_data.json"
METRICS = "metrics.json"


def write_json(path: Path, data: Any) -> Path:
    """Write JSON atomically (a reader or a crash never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_json(path: Path, what: str) -> Any:
    """Parsed JSON, or a one-line DatasetError naming ``what`` is missing or corrupt."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError(f"{path}: {what} not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{path}: corrupt {what} ({exc})") from None


def resolve_config(cls: type, overrides: Sequence[str] = (), config_file: Path | None = None) -> Any:
    """The task's default config, then a JSON file (a whole or partial config), then KEY=VALUE overrides."""
    cfg = cls()
    if config_file is not None:
        data = read_json(Path(config_file), "config file")
        if isinstance(data, dict) and "config" in data and "task" in data:
            data = data["config"]  # a task.json / edgekws_task_data.json of an earlier run
        if not isinstance(data, dict):
            raise ConfigError(f"{config_file}: a config must be a JSON object")
        cfg = from_dict(cls, data)  # keys the file leaves out (at any depth) keep their defaults
    return apply_overrides(cfg, overrides)


def run_data(task: Task, out: Path, overrides: Sequence[str] = (), config_file: Path | None = None,
             progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Write the task's synthetic dataset (real layout + exact ground truth) into ``out``."""
    from edgekws import __version__

    cfg = resolve_config(task.data_config, overrides, config_file)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summary = task.generate(out, cfg, progress)
    write_json(out / DATA_INFO, {"task": task.name, "edgekws_version": __version__, "config": to_dict(cfg),
                                 "summary": summary})
    return summary


def run_train(task: Task, data: Path, out: Path, overrides: Sequence[str] = (), config_file: Path | None = None,
              progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Train the task's models on the dataset folder ``data`` into the run directory ``out``."""
    from edgekws import __version__

    cfg = resolve_config(task.train_config, overrides, config_file)
    data = require_dir(data, "dataset folder")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / RUN_INFO, {"task": task.name, "edgekws_version": __version__,
                                "data": str(data.resolve()), "config": to_dict(cfg)})
    return task.train(data, out, cfg, progress)


def load_run(task: Task, run: Path) -> dict[str, Any]:
    """``task.json`` of a run directory of this task (one-line errors otherwise)."""
    run = require_dir(run, "run directory")
    info = read_json(run / RUN_INFO, f"{task.name} run info (is this a run directory from 'train'?)")
    if not isinstance(info, dict) or info.get("task") != task.name:
        raise DatasetError(f"{run} is a run of task {info.get('task') if isinstance(info, dict) else '?'!r}, "
                           f"not {task.name!r}")
    return info


def run_eval(task: Task, run: Path, data: Path | None = None,
             progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Score the run's models on its test split (``data`` overrides the dataset folder it was trained from)."""
    load_run(task, Path(run))
    if data is not None:
        require_dir(data, "dataset folder")
    metrics = task.evaluate(Path(run), None if data is None else Path(data), progress)
    write_json(Path(run) / METRICS, metrics)
    return metrics


def run_report(task: Task, run: Path, out: Path | None = None) -> dict[str, Path]:
    """Markdown + HTML report of an evaluated run (default: ``RUN/report``)."""
    load_run(task, Path(run))
    if not (Path(run) / METRICS).is_file():
        raise DatasetError(f"{run}: no {METRICS}; run 'edgekws task {task.name} eval {run}' first")
    return task.report(Path(run), Path(out) if out is not None else Path(run) / "report")
