"""Int8 post-training quantization (per-channel weights, full-integer I/O) and its evaluation.

Every int8 accuracy is measured with TFLite Micro (``edgekws.tflm``), the
runtime the firmware must match bit for bit; tf.lite.Interpreter (XNNPACK)
rounds differently and would report a number the device never reproduces.
Quantization-aware training (tfmot) is available as an option for models that
lose too much under PTQ.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import edgekws  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)
from edgekws.errors import ModelError
from edgekws.train.data import FeatureData


def calibration_set(data: FeatureData, n: int, seed: int = 0) -> np.ndarray:
    """``n`` normalised training examples, class-balanced where possible, for the representative dataset."""
    rng = np.random.default_rng(seed)
    y = data.y_train
    classes = np.unique(y)
    per = max(1, n // max(1, len(classes)))
    idx = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:per] for c in classes])
    if len(idx) < n:
        rest = np.setdiff1d(np.arange(len(y)), idx)
        idx = np.concatenate([idx, rng.permutation(rest)[: n - len(idx)]])
    return data.norm(data.x_train[np.sort(idx)])


def _converter(model: Any) -> Any:
    import tensorflow as tf

    return tf.lite.TFLiteConverter.from_keras_model(model)


def to_float_tflite(model: Any) -> bytes:
    """The float32 TFLite model (reference for the int8 one, and for host-side comparison)."""
    return bytes(_converter(model).convert())


def quantize_int8(model: Any, calibration: np.ndarray) -> bytes:
    """Full-integer int8 TFLite flatbuffer: int8 input/output, per-channel int8 weights, int32 biases.

    ``calibration``: normalised inputs ``[N, frames, feats, 1]`` for the activation ranges.
    """
    import tensorflow as tf

    if len(calibration) == 0:
        raise ModelError("int8 quantization needs at least one calibration example")
    conv = _converter(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]

    def representative() -> Any:
        for x in calibration:
            yield [x[None].astype(np.float32)]

    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    return bytes(conv.convert())


def io_quant(tflite: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """Input and output ``{shape, dtype, scale, zero_point}`` of a TFLite model (for bundle.json)."""
    from edgekws.export.tflite_graph import read_graph

    g = read_graph(tflite)

    def one(i: int) -> dict[str, Any]:
        t = g.tensors[i]
        q = t.quant
        return {"shape": [int(v) for v in t.shape], "dtype": t.dtype,
                "scale": float(q.scale[0]) if q is not None and q.scale.size else 1.0,
                "zero_point": int(q.zero_point[0]) if q is not None and q.zero_point.size else 0}

    return one(g.inputs[0]), one(g.outputs[0])


def quantize_input(x_norm: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """``q = clamp(round(x / scale) + zp, -128, 127)`` on normalised features (the device does the same)."""
    q = np.round(np.asarray(x_norm, np.float32) / np.float32(scale)) + zero_point
    return np.clip(q, -128, 127).astype(np.int8)


def evaluate_int8(tflite: bytes, x_norm: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """TFLite Micro accuracy on normalised inputs; returns (accuracy, predictions, quantized inputs)."""
    from edgekws.tflm import TflmModel

    inp, _ = io_quant(tflite)
    if inp["dtype"] != "int8":
        raise ModelError(f"model input is {inp['dtype']}, not int8")
    xq = quantize_input(x_norm, inp["scale"], inp["zero_point"])
    if len(y) == 0:
        return float("nan"), np.zeros(0, np.int64), xq
    out = TflmModel(tflite).run_batch(list(xq))
    pred = np.argmax(out.reshape(len(y), -1), axis=-1)
    return float(np.mean(pred == y)), pred.astype(np.int64), xq


def quantization_aware_training(model: Any, data: FeatureData, *, epochs: int, learning_rate: float = 5e-4,
                                batch_size: int = 64, seed: int = 0, progress: bool = True) -> tuple[Any, dict]:
    """Fine-tune with fake-quantization (tfmot) so the int8 model keeps the float accuracy.

    Returns the QAT Keras model (convertible like a float one; the converter uses its learned
    ranges) and the fine-tuning history. Zeros of a pruned model stay zero only for element
    positions the optimizer does not touch, so prune *after* QAT is not supported: QAT goes last.
    """
    import tensorflow_model_optimization as tfmot

    from edgekws.train.trainer import fit

    qmodel = tfmot.quantization.keras.quantize_model(model)
    history = fit(qmodel, data, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                  patience=epochs, seed=seed, title="QAT", progress=progress)
    return qmodel, history
