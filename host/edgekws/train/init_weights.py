"""Start a Keras student from an int8 bundle's weights (e.g. a model imported with ``edgekws import``).

Why: a model trained on real recordings (MLTK's DS-CNN, 80.6 % on ``real_kws_dev``) already has
what the synthetic-only student lacks: filters tuned to real voices. Distilling into a student that
*starts* there, instead of from random weights, keeps that and adds the teachers' judgement on the
project's perturbed synthetic rounds. The int8 weights and biases are dequantised (per channel),
the BatchNormalization after each bias-free convolution is set to the identity plus the bias, and
the bundle's labels must be the student's (import already put its outputs in that order). Every layer is checked against
the bundle's operator (kind, kernel shape, stride, padding, fused ReLU): a recipe that is not the
bundle's architecture is refused instead of loaded approximately.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from edgekws.errors import BundleError, ConfigError

#: TFLite operator that carries each Keras layer kind's weights
_OPS = {"Conv2D": "CONV_2D", "DepthwiseConv2D": "DEPTHWISE_CONV_2D", "Dense": "FULLY_CONNECTED"}


def _dequantize(t: Any) -> np.ndarray:
    """Float values of a constant tensor (per-channel scales broadcast along their axis)."""
    data = np.asarray(t.data)
    if t.quant is None:
        return data.astype(np.float32)
    shape = [1] * data.ndim
    if t.quant.per_channel:
        shape[t.quant.axis] = -1
    scale = t.quant.scale.reshape(shape).astype(np.float64)
    zp = t.quant.zero_point.reshape(shape).astype(np.float64)
    return ((data.astype(np.float64) - zp) * scale).astype(np.float32)


def _check_op(layer: Any, op: Any) -> None:
    """Refuse a layer whose stride, padding or activation differs from the operator's."""
    cfg = layer.get_config()
    name = layer.name
    if op.op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        strides = (op.options.get("stride_h", 1), op.options.get("stride_w", 1))
        if tuple(cfg["strides"]) != strides:
            raise ConfigError(f"{name}: stride {tuple(cfg['strides'])} but the bundle's {op.op} has {strides}")
        if str(op.options.get("padding", "SAME")).upper() != cfg["padding"].upper():
            raise ConfigError(f"{name}: padding {cfg['padding']} but the bundle's {op.op} has "
                              f"{op.options.get('padding')}")
        if op.options.get("activation", "NONE") != "RELU":
            raise ConfigError(f"{name}: the bundle's {op.op} has activation {op.options.get('activation')}, "
                              "the recipe a ReLU")
    elif op.options.get("activation", "NONE") != "NONE":
        raise ConfigError(f"{name}: the bundle's classifier has activation {op.options.get('activation')}")


def _kernel(layer: Any, op: Any, w: np.ndarray) -> np.ndarray:
    """The TFLite weight array in Keras layout: CONV [O,H,W,I] -> [H,W,I,O]; DW [1,H,W,C*M] -> [H,W,C,M]."""
    if op.op == "CONV_2D":
        return np.transpose(w, (1, 2, 3, 0))
    if op.op == "DEPTHWISE_CONV_2D":
        h, k, cm = w.shape[1:]
        mult = int(layer.get_config().get("depth_multiplier", 1))
        return w.reshape(h, k, cm // mult, mult)
    return np.transpose(w, (1, 0))


def load_bundle_weights(model: Any, bundle_dir: str | Path, model_labels: list[str]) -> list[str]:
    """Copy the bundle's dequantised weights into ``model`` (built from a matching recipe); layer names.

    The bundle's classifier is already in its ``labels`` order (``edgekws import`` permutes the
    model's outputs), which must be the student's.
    """
    from edgekws.export.tflite_graph import read_graph

    bdir = Path(bundle_dir)
    try:
        meta = json.loads((bdir / "bundle.json").read_text())
        graph = read_graph(bdir / "model.tflite")
    except (OSError, ValueError) as e:
        raise BundleError(f"{bdir}: cannot read the bundle to start from ({e})") from e
    ops = [op for op in graph.operators if op.op in _OPS.values()]
    layers = [ly for ly in model.layers if type(ly).__name__ in _OPS]
    if len(ops) != len(layers):
        raise ConfigError(f"{bdir}: {len(ops)} weighted operators, the recipe's model has {len(layers)} layers")
    if list(meta.get("labels", [])) != [str(v) for v in model_labels]:
        raise ConfigError(f"{bdir}: labels {meta.get('labels')} are not the student's {list(model_labels)}")
    loaded = []
    for layer, op in zip(layers, ops, strict=True):
        kind = type(layer).__name__
        if op.op != _OPS[kind]:
            raise ConfigError(f"{layer.name}: a {kind} where the bundle has {op.op}")
        _check_op(layer, op)
        kernel = _kernel(layer, op, _dequantize(graph.tensor(op.inputs[1])))
        bias_t = op.inputs[2] if len(op.inputs) > 2 and op.inputs[2] >= 0 else -1
        # outputs: O for conv/dense; C * multiplier for depthwise ([H, W, C, M])
        n_out = kernel.shape[2] * kernel.shape[3] if kind == "DepthwiseConv2D" else kernel.shape[-1]
        bias = _dequantize(graph.tensor(bias_t)) if bias_t >= 0 else np.zeros(n_out, np.float32)
        weights = layer.get_weights()
        if weights[0].shape != kernel.shape:
            raise ConfigError(f"{layer.name}: kernel {weights[0].shape} but the bundle's is {kernel.shape}")
        if layer.get_config().get("use_bias", True):
            layer.set_weights([kernel, bias.reshape(weights[1].shape)])
        else:
            layer.set_weights([kernel])
            bn = model.get_layer(f"{layer.name}_bn")
            eps = float(bn.get_config()["epsilon"])
            n = bias.size
            # identity normalisation: gamma 1, mean 0, variance 1 - eps, so only beta (= the bias) acts
            bn.set_weights([np.ones(n, np.float32), bias.astype(np.float32), np.zeros(n, np.float32),
                            np.full(n, 1.0 - eps, np.float32)])
        loaded.append(layer.name)
    return loaded
