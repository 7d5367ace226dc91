"""CLI of the 'evaluate' area: ``edgekws evaluate BUNDLE --data DIR`` (real-speech accuracy)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer


def _acc(d: dict[str, Any]) -> str:
    from edgekws.metrics import Accuracy

    return Accuracy(d["correct"], d["n"], d["ci_low"], d["ci_high"]).format()


def print_figures(entry: dict[str, Any], title: str) -> None:
    """Accuracies with their 95 % intervals, false accepts, per-class recall and the confusion matrix."""
    print(title)
    print(f"  12-class accuracy      {_acc(entry['accuracy'])}")
    print(f"  keyword-only accuracy  {_acc(entry['keyword_accuracy'])}")
    fa = entry["false_accepts"]
    by = ", ".join(f"{k} {v['count']}/{v['n']}" for k, v in fa["by_class"].items())
    print(f"  false accepts          {fa['count']}/{fa['n']} = {100 * fa['rate']:.1f} % "
                  f"[{100 * fa['ci_low']:.1f}, {100 * fa['ci_high']:.1f}] of _silence_/_unknown_ clips "
                  f"classified as a keyword ({by})")
    labels = entry["labels"]
    short = [name.strip("_")[:4] for name in labels]
    print("  per-class recall % [95 % interval] (correct/n) | confusion: rows true, columns predicted")
    print(f"  {'class':<10} {'recall':>20} | " + " ".join(f"{s:>4}" for s in short))
    for name, row in zip(labels, entry["confusion"], strict=True):
        r = entry["per_class"][name]
        rec = f"{100 * r['accuracy']:.0f} [{100 * r['ci_low']:.0f}-{100 * r['ci_high']:.0f}] ({r['correct']}/{r['n']})"
        print(f"  {name:<10} {rec:>20} | " + " ".join(f"{v if v else '.':>4}" for v in row))


def evaluate(
    bundle: Path = typer.Argument(..., help="Model bundle directory."),
    data: Path = typer.Option(..., "--data", help="Dataset folder in the Speech Commands layout (the official "
                              "test-set archive's layout too)."),
    split: str = typer.Option("test", "--split", help="test | validation | training | all"),
    emulate: bool = typer.Option(False, "--emulate", help="also run the clips in QEMU (device frontend from audio)"),
    port: str = typer.Option(None, "--port", help="also run them on a device: path or pyserial URL"),
    name: str = typer.Option(None, "--name", help="key under report.json's evaluations (default: the folder name)"),
    limit: int = typer.Option(None, "--limit", help="an evenly spaced subset of this many clips"),
    out: Path = typer.Option(None, "--out", help="report.json to merge into (default: the bundle's)"),
    merge: bool = typer.Option(True, "--merge/--no-merge", help="write the figures into report.json"),
    build_dir: Path = typer.Option(None, "--build-dir", help="firmware build directory for --emulate"),
    baud: int = typer.Option(115200, "--baud", help="UART baud rate (ignored by sockets)"),
    timeout: float = typer.Option(5.0, "--timeout", help="seconds per device reply before a retry"),
    jsonl: Path = typer.Option(None, "--jsonl", help="keep the device run's per-clip results here"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="show progress"),
) -> None:
    """Accuracy of a bundle's int8 model on a dataset (12-class, keywords, false accepts), with 95 % intervals."""
    from edgekws.evaluate import EvalConfig, evaluate_bundle

    cfg = EvalConfig(bundle=bundle, data=data, split=split, name=name, limit=limit, out=out, merge=merge,
                     emulate=emulate, port=port, baud=baud, build_dir=build_dir, timeout=timeout, jsonl=jsonl,
                     progress=progress)

    def note(msg: str) -> None:
        typer.echo(msg, err=True)

    def clip_progress(done: int, total: int) -> None:
        if progress:
            typer.echo(f"\rreading clips {done}/{total}", err=True, nl=done == total)

    entry = evaluate_bundle(cfg, note, clip_progress)
    ds = entry["dataset"]
    where = f"{ds['root']} ({ds['split']} split from {ds['split_rule']}, {ds['clips']} clips)"
    print_figures(entry, f"{bundle} on {where}: int8 on TFLite Micro")
    for board, dev in (entry.get("device") or {}).items():
        print_figures(dev, f"{bundle} on {board} ({dev['runtime']}), same clips")
        print(f"  decisions equal to the host's: {100 * dev['decision_agreement_with_host']:.1f} % "
              f"({dev['decisions_differing_from_host']} differ); int8 output equal to TFLite Micro on the host "
              f"features: {100 * dev['output_equal_to_host_int8']:.1f} %")
    if "_merged_into" in entry:
        print(f"merged into {entry['_merged_into']} under evaluations.{entry['name']}")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.command("evaluate")(evaluate)
