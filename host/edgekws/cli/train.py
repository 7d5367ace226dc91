"""CLI of the 'train' area: ``edgekws train RECIPE --data DIR --out DIR`` and ``edgekws recipes``."""

from __future__ import annotations

from pathlib import Path

import typer


def train(
    recipe: str = typer.Argument(..., help="Recipe name from models/recipes (ds-cnn-s, ...) or a YAML path."),
    data: Path = typer.Option(..., "--data", help="Dataset folder (Speech Commands layout)."),
    out: Path = typer.Option(..., "--out", help="Output bundle folder (also holds the Keras checkpoint)."),
    epochs: int | None = typer.Option(None, "--epochs", help="Override the recipe's epoch count."),
    seed: int | None = typer.Option(None, "--seed", help="Override the recipe's seed."),
    onnx: bool = typer.Option(True, "--onnx/--no-onnx", help="Also export and check model.onnx."),
) -> None:
    """Train a float model, then quantize it to int8 and write a bundle (accuracy + confusion printed)."""
    import edgekws  # noqa: F401
    from edgekws.compress.pipeline import train_to_bundle
    from edgekws.train.recipe import load_recipe

    bundle = train_to_bundle(load_recipe(recipe), data, out, epochs=epochs, seed=seed, onnx=onnx)
    from edgekws.metrics import format_accuracy

    acc = bundle.report["accuracy"]
    n = acc.get("n_test")
    print(f"{bundle.path}: float {format_accuracy(acc['float'], n)}, int8 {format_accuracy(acc['int8'], n)} "
          "(TFLite Micro; [95 % interval])")


def recipes() -> None:
    """List the model zoo's recipes."""
    from edgekws.train.recipe import available_recipes, load_recipe

    for name in available_recipes():
        print(f"{name:14s} {load_recipe(name).description}")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.command("train")(train)
    app.command("recipes")(recipes)
