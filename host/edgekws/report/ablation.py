"""Real-speech ablation tables (one JSON per study) -> rows, a Markdown/HTML table and a plot.

Why in the comparison report: a model's real-speech figure alone does not say which step earned
it. The studies under ``benchmarks/results/`` (the data ablation of ``benchmarks/real_speech_ablation.py``
and the teacher/distillation study) store each step's dev-set accuracy with its 95 % interval;
this module reads both shapes into one row type so the report shows every step beside the models.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgekws.errors import ConfigError
from edgekws.metrics import Accuracy


@dataclass(frozen=True)
class AblationRow:
    """One step of a study: its name, what it is, and its real-speech accuracies (metrics dicts)."""

    step: str
    kind: str
    accuracy: dict[str, Any]
    keyword_accuracy: dict[str, Any] | None


@dataclass(frozen=True)
class Ablation:
    title: str
    dataset: str
    rows: tuple[AblationRow, ...]
    source: str


def _metric(d: Any) -> dict[str, Any] | None:
    """An edgekws.metrics accuracy dict (correct, n, ci_low, ci_high), or None when malformed."""
    if isinstance(d, dict) and all(k in d for k in ("correct", "n", "ci_low", "ci_high")) and d["n"]:
        return d
    return None


def load_ablation(path: str | Path) -> Ablation:
    """Read a study JSON: ``{"meta", "steps", "variants": {step: {"real": ...}}}`` or ``{"data", "rows": [...]}``.

    Any other shape, or a step without its real-speech accuracy, is one ConfigError line.
    """
    p = Path(path)
    try:
        doc = json.loads(p.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"ablation {p}: cannot read it ({type(exc).__name__})") from None
    rows: list[AblationRow] = []
    if isinstance(doc, dict) and isinstance(doc.get("variants"), dict):
        meta = doc.get("meta") or {}
        order = [s for s in doc.get("steps") or [] if s in doc["variants"]]
        order += [s for s in doc["variants"] if s not in order]
        for step in order:
            v = doc["variants"][step]
            real = (v or {}).get("real") or {}
            acc = _metric(real.get("accuracy"))
            if acc is None:
                raise ConfigError(f"ablation {p}: step {step!r} has no real-speech accuracy")
            engines = "+".join(v.get("engines") or [])
            rows.append(AblationRow(step, f"{meta.get('recipe', 'model')} int8, {engines}", acc,
                                    _metric(real.get("keyword_accuracy"))))
        title = f"data steps ({meta.get('per_word', '?')} clips/keyword, {meta.get('epochs', '?')} epochs)"
        dataset = str(meta.get("dev_name", "real speech"))
    elif isinstance(doc, dict) and isinstance(doc.get("rows"), list):
        for r in doc["rows"]:
            acc = _metric((r or {}).get("accuracy_12"))
            if acc is None:
                raise ConfigError(f"ablation {p}: row {r.get('name', '?')!r} has no 12-class accuracy")
            rows.append(AblationRow(str(r.get("name")), str(r.get("kind", "")), acc,
                                    _metric(r.get("accuracy_keywords"))))
        title = "teacher and distillation"
        dataset = str(doc.get("data", "real speech"))
    else:
        raise ConfigError(f"ablation {p}: neither a 'variants' nor a 'rows' study")
    if not rows:
        raise ConfigError(f"ablation {p}: no steps")
    return Ablation(title, dataset, tuple(rows), str(p))


def _cell(d: dict[str, Any] | None) -> str:
    """Same cell as the comparison table's: ``45.0 [41.2-48.9]``."""
    if d is None:
        return "-"
    return Accuracy(int(d["correct"]), int(d["n"]), float(d["ci_low"]), float(d["ci_high"])).cell()


def table_rows(ab: Ablation) -> list[list[str]]:
    """Header + one row per step, cells formatted like the comparison table's accuracy cells."""
    out = [["step", "model", f"{ab.dataset} 12-class %", f"{ab.dataset} keywords %"]]
    out += [[r.step, r.kind, _cell(r.accuracy), _cell(r.keyword_accuracy)] for r in ab.rows]
    return out


def markdown(ab: Ablation, figure: str | None = None) -> list[str]:
    """Markdown lines: heading, the table, the plot (when given) and the source file."""
    rows = table_rows(ab)
    lines = [f"### Real-speech ablation: {ab.title}", "", "| " + " | ".join(rows[0]) + " |",
             "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(c.replace("|", "/") for c in r) + " |" for r in rows[1:]]
    lines += ["", f"Source: `{ab.source}`.", ""]
    if figure:
        lines += [f"![ablation {ab.title}]({figure})", ""]
    return lines


def plot(ab: Ablation) -> bytes:
    """Horizontal bars per step (12-class and keywords) with their 95 % intervals."""
    import numpy as np

    from edgekws.report.figures import _plt, _png

    plt = _plt()
    n = len(ab.rows)
    fig, ax = plt.subplots(figsize=(7.0, 0.45 * n + 1.4))
    y = np.arange(n)
    for k, (label, get) in enumerate((("12-class", lambda r: r.accuracy),
                                      ("keywords", lambda r: r.keyword_accuracy))):
        vals = [(i, get(r)) for i, r in enumerate(ab.rows) if get(r) is not None]
        v = np.array([100 * d["correct"] / d["n"] for _, d in vals])
        lo = np.array([100 * d["ci_low"] for _, d in vals])
        hi = np.array([100 * d["ci_high"] for _, d in vals])
        ax.barh(y[[i for i, _ in vals]] + (k - 0.5) * 0.38, v, 0.38, xerr=[v - lo, hi - v], capsize=2, label=label)
    ax.set_yticks(y, [r.step for r in ab.rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel(f"{ab.dataset} accuracy (%), 95 % intervals")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(f"Real-speech ablation: {ab.title}", fontsize=9)
    return _png(fig)
