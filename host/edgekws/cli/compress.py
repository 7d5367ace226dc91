"""CLI of the 'compress' area: ``edgekws prune`` and ``edgekws quantize`` (bundle in, bundle out)."""

from __future__ import annotations

from pathlib import Path

import typer


def prune(
    source: Path = typer.Argument(..., help="A bundle folder (with model_keras.h5) or a .h5 checkpoint."),
    granularity: str = typer.Option(..., "--granularity", "-g", help="element | block | nm | filter | kernel"),
    sparsity: float = typer.Option(0.5, "--sparsity", "-s", help="Fraction removed per layer (nm: fixed N/M)."),
    out: Path = typer.Option(..., "--out", help="Output bundle folder."),
    data: Path | None = typer.Option(None, "--data", help="Dataset folder (default: the one the bundle records)."),
    epochs: int | None = typer.Option(None, "--epochs", help="Fine-tuning epochs (default: the recipe's)."),
    block: str = typer.Option("1x4", "--block", help="Block shape RxC (outputs x inputs) for --granularity block."),
    nm: str = typer.Option("2:4", "--nm", help="N:M pattern for --granularity nm."),
    importance: str = typer.Option("l1", "--importance", help="Filter ranking: l1 | l2 | bn."),
    skip_first: bool | None = typer.Option(None, "--skip-first/--prune-first", help="Leave the first conv dense."),
    distill: float | None = typer.Option(None, "--distill", help="Teacher weight in fine-tuning targets (0 = off)."),
    seed: int = typer.Option(0, "--seed"),
    onnx: bool = typer.Option(True, "--onnx/--no-onnx"),
) -> None:
    """Prune at one granularity, fine-tune, quantize to int8 and write a new bundle."""
    import edgekws  # noqa: F401
    from edgekws.compress.pipeline import load_source, prune_to_bundle
    from edgekws.compress.prune import PruneConfig
    from edgekws.compress.sparsity_patterns import parse_block
    from edgekws.errors import ConfigError

    try:
        n, m = (int(v) for v in nm.split(":"))
    except ValueError:
        raise ConfigError(f"--nm must look like 2:4, got {nm!r}") from None
    recipe = load_source(source).recipe  # cheap enough; gives the recipe's fine-tuning defaults
    cfg = PruneConfig.from_recipe(recipe, granularity, sparsity, epochs=epochs, skip_first=skip_first,
                                  importance=importance, block=parse_block(block), n=n, m=m, distill=distill,
                                  seed=seed)
    bundle = prune_to_bundle(source, out, cfg, data_root=data, onnx=onnx)
    from edgekws.metrics import format_accuracy, format_drop

    rep = bundle.report
    n = rep["accuracy"].get("n_test")
    base = (rep.get("baseline") or {}).get("int8")
    print(f"{bundle.path}: int8 {format_accuracy(rep['accuracy']['int8'], n)}"
          + (f" ({format_drop(base, rep['accuracy']['int8'], n)} vs the dense model)" if base is not None else "")
          + f", weight sparsity {rep['sparsity'] * 100:.1f} %, {rep['size']['macs']} MACs")


def quantize(
    source: Path = typer.Argument(..., help="A bundle folder (with model_keras.h5) or a .h5 checkpoint."),
    out: Path = typer.Option(..., "--out", help="Output bundle folder."),
    qat: bool = typer.Option(False, "--qat", help="Quantization-aware training before conversion."),
    epochs: int | None = typer.Option(None, "--epochs", help="QAT epochs (default: the recipe's)."),
    calibration: int | None = typer.Option(None, "--calibration", help="Representative examples for PTQ."),
    data: Path | None = typer.Option(None, "--data", help="Dataset folder (default: the one the bundle records)."),
    onnx: bool = typer.Option(True, "--onnx/--no-onnx"),
) -> None:
    """Quantize a float model to int8 (PTQ, or QAT with --qat) and write a bundle."""
    import edgekws  # noqa: F401
    from edgekws.compress.pipeline import quantize_to_bundle

    bundle = quantize_to_bundle(source, out, qat=qat, epochs=epochs, calibration_samples=calibration,
                                data_root=data, onnx=onnx)
    from edgekws.metrics import format_accuracy

    acc = bundle.report["accuracy"]
    n = acc.get("n_test")
    print(f"{bundle.path}: float {format_accuracy(acc['float'], n)}, int8 {format_accuracy(acc['int8'], n)} "
          "(TFLite Micro; [95 % interval])")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.command("prune")(prune)
    app.command("quantize")(quantize)
