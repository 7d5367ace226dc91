"""The last host stage for every model: quantize, evaluate, export ONNX, write the bundle.

Trained, pruned and re-quantized models all leave through :func:`finalize_bundle`,
so every bundle's report.json has the same figures measured the same way
(float accuracy with Keras, int8 accuracy with TFLite Micro, on the test split).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

import edgekws  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)
from edgekws.audio import float_to_pcm16
from edgekws.compress.quantize import calibration_set, evaluate_int8, quantize_int8, to_float_tflite
from edgekws.compress.stats import size_figures
from edgekws.export.bundle import Bundle, write_bundle
from edgekws.train.data import FeatureData
from edgekws.train.trainer import confusion_matrix, evaluate_float

REPORT_SCHEMA = 1
#: Ops the firmware's layer runner implements (docs/ARCHITECTURE.md); others are flagged in the report.
FIRMWARE_OPS = frozenset({"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "MAX_POOL_2D",
                          "ADD", "RESHAPE", "SOFTMAX"})


def _testset(data: FeatureData, x_int8: np.ndarray, max_items: int, seed: int,
             test_audio: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """A class-balanced slice of the test split for on-device accuracy (x_int8, y, audio when available).

    The audio comes from ``test_audio`` (float, one row per test clip) when the caller has it,
    else from the dataset folder; without it the device can only be fed features, not audio.
    """
    n = len(data.y_test)
    idx = np.arange(n)
    if n > max_items:
        rng = np.random.default_rng(seed)
        classes = np.unique(data.y_test)
        per = max(1, max_items // len(classes))
        idx = np.sort(np.concatenate([rng.permutation(np.flatnonzero(data.y_test == c))[:per] for c in classes]))
    out = {"x_int8": x_int8[idx].astype(np.int8), "y": data.y_test[idx].astype(np.int64)}
    if test_audio is not None and len(test_audio) == n:
        out["audio_int16"] = float_to_pcm16(np.asarray(test_audio)[idx])
    elif data.root is not None and Path(data.root).is_dir():
        from edgekws.data.features import load_audio_split

        audio, y, _ = load_audio_split(data.root, "testing")
        if len(y) == n and np.array_equal(y, data.y_test):
            out["audio_int16"] = float_to_pcm16(audio[idx])
    return out


def finalize_bundle(model: Any, data: FeatureData, out_dir: str | Path, *, name: str, recipe: dict[str, Any],
                    compression: dict[str, Any] | None = None, history: dict[str, Any] | None = None,
                    timings: dict[str, float] | None = None, baseline: dict[str, Any] | None = None,
                    calibration_samples: int = 300, testset_max: int = 120, onnx: bool = True,
                    seed: int = 0, quant_model: Any = None, progress: bool = True,
                    test_audio: np.ndarray | None = None) -> Bundle:
    """Quantize ``model`` to int8, measure it, and write a complete bundle to ``out_dir``.

    ``quant_model`` (a QAT model) replaces ``model`` for the int8 conversion when given.
    ``baseline`` ({name, float, int8}) is the unpruned model, so the report states the drop.
    ``test_audio``: the test split's waveforms, for a bundle whose data has no folder (distillation).
    """
    from rich.console import Console

    console = Console(stderr=True, quiet=not progress)
    timings = dict(timings or {})
    labels = data.labels
    n_cls = len(labels)
    x_test = data.norm(data.x_test)

    t = time.perf_counter()
    with console.status(f"{name}: converting to float and int8 TFLite"):
        tfl_float = to_float_tflite(model)
        tfl_int8 = quantize_int8(quant_model if quant_model is not None else model,
                                 calibration_set(data, calibration_samples, seed))
    timings["quantize_s"] = time.perf_counter() - t

    t = time.perf_counter()
    acc_f, cm_f = evaluate_float(model, x_test, data.y_test, n_cls)
    with console.status(f"{name}: int8 accuracy with TFLite Micro on {len(data.y_test)} clips"):
        acc_q, pred_q, xq = evaluate_int8(tfl_int8, x_test, data.y_test)
    cm_q = confusion_matrix(data.y_test, pred_q, n_cls)
    timings["evaluate_s"] = time.perf_counter() - t

    onnx_bytes, onnx_diff = None, None
    if onnx:
        from edgekws.export.onnx_export import check_onnx, to_onnx

        t = time.perf_counter()
        onnx_bytes = to_onnx(model)
        onnx_diff = check_onnx(onnx_bytes, model, x_test[:8])
        timings["onnx_s"] = time.perf_counter() - t

    from edgekws.export.tflite_graph import layer_summary

    layers = layer_summary(tfl_int8)
    for row in layers:
        row.setdefault("backend", "ref")
    compression = dict(compression or {})
    pruning = compression.get("pruning") or {}
    granularity = pruning.get("granularity", "none")
    compression["quantization"] = {"scheme": "int8 full-integer, per-channel weights, per-tensor activations",
                                   "method": "qat" if quant_model is not None else "ptq",
                                   "calibration_samples": int(calibration_samples), "runtime": "tflite-micro"}
    size = size_figures(layers, len(tfl_int8), granularity)
    unsupported = sorted({row["op"] for row in layers} - FIRMWARE_OPS)
    if unsupported:
        console.print(f"[yellow]warning[/yellow]: {name} uses ops the firmware lacks: {', '.join(unsupported)}")
    report: dict[str, Any] = {
        "schema_version": REPORT_SCHEMA,
        "name": name,
        "recipe": recipe.get("name"),
        "labels": labels,
        "granularity": granularity,
        "target_sparsity": float(pruning.get("effective_sparsity", 0.0)),
        "accuracy": {"float": acc_f, "int8": acc_q, "int8_minus_float": acc_q - acc_f,
                     "n_test": int(len(data.y_test)), "int8_runtime": "tflite-micro"},
        "size": size,
        "sparsity": size["sparsity"],
        "confusion": {"float": cm_f.tolist(), "int8": cm_q.tolist()},
        "history": history or {},
        "timings": timings,
        "onnx_max_abs_diff": onnx_diff,
        "ops": sorted({row["op"] for row in layers}),
        "firmware_unsupported_ops": unsupported,
        "data": {"root": data.root, "sizes": data.sizes(), "frontend_hash": data.frontend_hash},
    }
    if baseline is not None:
        report["baseline"] = baseline
        report["accuracy_drop"] = {"float": baseline["float"] - acc_f, "int8": baseline["int8"] - acc_q}
    testset = _testset(data, xq, testset_max, seed, test_audio)
    bundle = write_bundle(out_dir, name=name, labels=labels, frontend=data.frontend,
                          frontend_hash=data.frontend_hash, input_norm=data.input_norm, tflite_int8=tfl_int8,
                          tflite_float=tfl_float, report=report, compression=compression, recipe=recipe,
                          onnx=onnx_bytes, testset=testset, keras_model=model, layers=layers)
    from edgekws.metrics import format_accuracy

    n_test = len(data.y_test)
    console.print(f"[bold]{name}[/bold]: float {format_accuracy(acc_f, n_test)}  "
                  f"int8 (TFLM) {format_accuracy(acc_q, n_test)}  "
                  f"sparsity {size['sparsity'] * 100:.1f} %  weights {size['nonzero_weights']}/{size['weights']}  "
                  f"tflite {len(tfl_int8)} B -> {bundle.path}")
    return bundle
