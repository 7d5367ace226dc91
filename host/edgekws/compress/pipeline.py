"""File-to-file stages (what the CLI and the demo call): train -> bundle, bundle -> pruned bundle, re-quantize.

Each stage starts from files only (a recipe, a dataset folder, a bundle with its
Keras checkpoint), so any stage can be re-run alone. A bundle remembers its
dataset folder and input normalisation, so pruning a bundle fine-tunes on the
same data with the same normalisation unless told otherwise.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import edgekws  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)
from edgekws.errors import BundleError, DatasetError
from edgekws.export.bundle import Bundle, load_bundle
from edgekws.train.data import FeatureData, load_feature_data
from edgekws.train.recipe import Recipe, recipe_from_dict
from edgekws.train.trainer import TRAIN_JSON, load_keras


@dataclass
class Source:
    """A trained float model and what is needed to continue from it."""

    model: Any
    recipe: Recipe
    frontend: dict[str, Any]
    input_norm: dict[str, list[float]] | None
    data_root: str | None
    baseline: dict[str, Any] | None
    name: str
    history: dict[str, Any]


def load_source(path: str | Path) -> Source:
    """Open a bundle directory (with model_keras.h5) or a Keras .h5 checkpoint with train.json beside it."""
    p = Path(path)
    if p.is_dir():
        bundle = load_bundle(p)
        if not bundle.keras_path.is_file():
            raise BundleError(f"bundle {p} has no {bundle.keras_path.name}; it cannot be pruned or re-quantized")
        rep = bundle.report
        acc = rep.get("accuracy", {})
        return Source(load_keras(bundle.keras_path), recipe_from_dict(bundle.meta["recipe"]), bundle.meta["frontend"],
                      bundle.meta["input_norm"], (rep.get("data") or {}).get("root"),
                      rep.get("baseline") or {"name": bundle.name, "float": acc.get("float"), "int8": acc.get("int8"),
                                              "weights": (rep.get("size") or {}).get("weights"),
                                              "n_test": acc.get("n_test")},  # for the drop's interval
                      bundle.name, rep.get("history", {}))
    if p.is_file() and p.suffix == ".h5":
        meta_path = p.with_name(TRAIN_JSON)
        if not meta_path.is_file():
            raise BundleError(f"checkpoint {p} has no {TRAIN_JSON} beside it (recipe, normalisation, data)")
        try:
            meta = json.loads(meta_path.read_text())
        except json.JSONDecodeError as exc:
            raise BundleError(f"{meta_path} is not valid JSON ({exc})") from None
        recipe = recipe_from_dict(meta["recipe"])
        return Source(load_keras(p), recipe, meta["frontend"], meta.get("input_norm"), meta.get("data_root"),
                      None, recipe.name, {"train": meta.get("history", {})})
    raise BundleError(f"{p} is neither a bundle directory nor a .h5 checkpoint")


def _data_for(src: Source, data_root: str | Path | None) -> FeatureData:
    root = data_root if data_root is not None else src.data_root
    if root is None:
        raise DatasetError(f"{src.name} does not record its dataset; pass --data DIR")
    if not Path(root).is_dir():
        raise DatasetError(f"dataset folder {root} does not exist; pass --data DIR")
    return load_feature_data(root, src.frontend, input_norm=src.input_norm, augment=src.recipe.train.augment,
                             seed=src.recipe.train.seed)


def train_to_bundle(recipe: Recipe, data_root: str | Path, out_dir: str | Path, *, epochs: int | None = None,
                    seed: int | None = None, data: FeatureData | None = None, progress: bool = True,
                    onnx: bool = True, testset_max: int = 120) -> Bundle:
    """``edgekws train``: train the recipe, then quantize and write the dense bundle into ``out_dir``."""
    from edgekws.compress.finalize import finalize_bundle
    from edgekws.train.trainer import train_model

    res = train_model(recipe, data_root, out_dir, epochs=epochs, seed=seed, data=data, progress=progress,
                      verbose=progress)
    timings = {"train_s": res.seconds, **res.extra.get("timings", {})}
    return finalize_bundle(res.model, res.data, out_dir, name=res.recipe.name, recipe=res.recipe.to_dict(),
                           history={"train": res.history}, timings=timings,
                           calibration_samples=res.recipe.quant.calibration_samples, seed=res.recipe.train.seed,
                           onnx=onnx, progress=progress, testset_max=testset_max)


def prune_to_bundle(source: str | Path, out_dir: str | Path, cfg: Any, *, data_root: str | Path | None = None,
                    data: FeatureData | None = None, name: str | None = None, progress: bool = True,
                    onnx: bool = True, testset_max: int = 120) -> Bundle:
    """``edgekws prune``: prune a bundle's float model at one granularity, fine-tune, quantize, write a bundle."""
    from edgekws.compress.finalize import finalize_bundle
    from edgekws.compress.prune import prune

    src = load_source(source)
    t = time.perf_counter()
    data = data if data is not None else _data_for(src, data_root)
    t_data = time.perf_counter() - t
    res = prune(src.model, data, cfg, progress=progress)
    label = name or f"{src.recipe.name}-{cfg.label()}"
    return finalize_bundle(res.model, data, out_dir, name=label, recipe=src.recipe.to_dict(),
                           compression=res.compression(), history={**src.history, "finetune": res.history},
                           timings={"load_data_s": t_data, "prune_s": res.seconds}, baseline=src.baseline,
                           calibration_samples=src.recipe.quant.calibration_samples, seed=cfg.seed, onnx=onnx,
                           progress=progress, testset_max=testset_max)


def quantize_to_bundle(source: str | Path, out_dir: str | Path, *, qat: bool = False, epochs: int | None = None,
                       calibration_samples: int | None = None, data_root: str | Path | None = None,
                       data: FeatureData | None = None, progress: bool = True, onnx: bool = True,
                       testset_max: int = 120) -> Bundle:
    """``edgekws quantize``: (re-)quantize a float model with PTQ or QAT into a bundle."""
    from edgekws.compress.finalize import finalize_bundle
    from edgekws.compress.quantize import quantization_aware_training

    src = load_source(source)
    data = data if data is not None else _data_for(src, data_root)
    compression: dict[str, Any] = {}
    if Path(source).is_dir():
        compression = {k: v for k, v in load_bundle(source).meta["compression"].items() if k != "quantization"}
    qmodel, history = None, dict(src.history)
    t = time.perf_counter()
    if qat:
        qmodel, history["qat"] = quantization_aware_training(
            src.model, data, epochs=epochs or src.recipe.quant.qat_epochs, seed=src.recipe.train.seed,
            progress=progress)
    return finalize_bundle(src.model, data, out_dir, name=src.name + ("-qat" if qat else ""),
                           recipe=src.recipe.to_dict(), compression=compression, history=history,
                           timings={"qat_s": time.perf_counter() - t} if qat else {}, baseline=src.baseline,
                           calibration_samples=calibration_samples or src.recipe.quant.calibration_samples,
                           quant_model=qmodel, onnx=onnx, progress=progress, testset_max=testset_max)
