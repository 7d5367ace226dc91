"""CLI of the 'import' area: ``edgekws import MODEL.tflite --frontend ... --labels ... --out BUNDLE``.

A thin layer over :func:`edgekws.export.import_tflite.import_tflite` (the module is named
``importer`` because ``import`` is a Python keyword).
"""

from __future__ import annotations

from pathlib import Path

import typer


def import_cmd(
    model: Path = typer.Argument(..., help="the .tflite file (int8 inside; float32 ends with QUANTIZE/DEQUANTIZE "
                                 "are stripped)"),
    frontend: str = typer.Option(..., "--frontend", help="frontend preset name or CONFIG.json: the features the "
                                 "model was trained on"),
    labels: str = typer.Option(..., "--labels", help="class names in the model's output order (a,b,c or a file "
                               "with one per line)"),
    out: Path = typer.Option(..., "--out", "-o", help="bundle directory to write"),
    rename: str | None = typer.Option(None, "--rename", help="old=new,... renames of --labels, e.g. "
                                      "unknown=_unknown_,_background_noise_=_silence_"),
    norm: str | None = typer.Option(None, "--norm", help="feature normalisation before quantization: none "
                                    "(default), MEAN,STD, or a JSON file {mean: [...], std: [...]}"),
    testset_data: Path | None = typer.Option(None, "--testset-data", help="Speech Commands-layout folder whose "
                                             "test split becomes the bundle's test set (default: espeak-ng clips)"),
    per_word: int = typer.Option(8, "--per-word", min=1, help="synthesised test clips per keyword"),
    name: str | None = typer.Option(None, "--name", help="bundle name (default: the file's stem)"),
    reorder: bool = typer.Option(True, "--reorder/--no-reorder", help="put _silence_, _unknown_ first (our label "
                                 "order) by permuting the last layer's rows"),
    seed: int = typer.Option(0, "--seed"),
    credit: str | None = typer.Option(None, "--credit", help="the model's licence and training-data credit, kept "
                                      "in the bundle and shown by `edgekws report` (default: filled only for "
                                      "the pinned MLTK model, recognised by sha256)"),
) -> None:
    """Import a TFLite model trained elsewhere as a complete, TFLite Micro-checked bundle."""
    from edgekws.export.import_tflite import ImportConfig, import_tflite, parse_labels, parse_norm
    from edgekws.frontend import load_config

    fe = load_config(frontend)
    cfg = ImportConfig(model=model, labels=parse_labels(labels, rename), frontend=fe, out=out, name=name,
                       norm=parse_norm(norm, fe.num_features), testset_data=testset_data, synth_per_word=per_word,
                       reorder=reorder, seed=seed, credit=credit)
    import_tflite(cfg)


def register(app: typer.Typer) -> None:
    """Add ``import`` to the root app."""
    app.command("import")(import_cmd)
