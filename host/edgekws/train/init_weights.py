"""Start a Keras student from an int8 bundle's weights (e.g. a model imported with ``edgekws import``).

Why: a model trained on real recordings (MLTK's DS-CNN, 80.6 % on ``real_kws_dev``) already has
what the synthetic-only student lacks: filters tuned to real voices. Distilling into a student that
*starts* there, instead of from random weights, keeps that and adds the teachers' judgement on the
project's perturbed synthetic rounds. The int8 weights and biases are dequantised (per channel),
the BatchNormalization after each bias-free convolution is set to the identity plus the bias, and
the bundle's labels must be the student's (import already put its outputs in that order). Every layer is checked against
the bundle's operator (kind, kernel shape, stride, padding, fused ReLU): a recipe that is not the
bundle's architecture is refused instead of loaded approximately.

One deliberate exception, asked for by the caller: a streaming recipe (``time_padding: valid``)
may start from a SAME bundle of the same kernels. Its convolutions are VALID behind an explicit
frequency pad equal to SAME's, so every row they compute equals the bundle's row at that place;
only the rows SAME computed from its zero time padding are gone, and the average pool sees the
interior rows alone (13 of 25 for DS-CNN-S), which fine-tuning adapts to. The loader checks that
frequency pad and names every such layer in its log.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from edgekws.errors import BundleError, ConfigError
from edgekws.train.models import same_split

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


def _explicit_pad(layer: Any) -> list[int]:
    """[top, bottom, left, right] that ``layer`` (VALID) reads through: its input ZeroPadding2D's, else none."""
    src = layer.inbound_nodes[0].inbound_layers
    if type(src).__name__ != "ZeroPadding2D":
        return [0, 0, 0, 0]
    (top, bottom), (left, right) = (tuple(p) for p in src.get_config()["padding"])
    return [int(top), int(bottom), int(left), int(right)]


def _valid_in_time(layer: Any, strides: tuple[int, int]) -> bool:
    """Whether a VALID ``layer`` computes the bundle's SAME op everywhere but at the time edges.

    True when it reads through no time padding and exactly SAME's split of the frequency axis
    (the streaming builder's ZeroPadding2D; none for a kernel 1 wide).
    """
    top, bottom, left, right = _explicit_pad(layer)
    width = int(layer.input.shape[2]) - left - right
    kw = int(layer.get_config()["kernel_size"][1])
    return top == bottom == 0 and (left, right) == same_split(width, kw, strides[1])


def _check_op(layer: Any, op: Any, time_padding: str = "same") -> bool:
    """Refuse a layer whose stride, padding or activation differs from the operator's.

    True when the layer is accepted as the valid-in-time form of a SAME op (``time_padding``
    "valid" only; see the module docstring), False when it matches the operator as it is.
    """
    cfg = layer.get_config()
    name = layer.name
    edges = False
    if op.op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        strides = (op.options.get("stride_h", 1), op.options.get("stride_w", 1))
        if tuple(cfg["strides"]) != strides:
            raise ConfigError(f"{name}: stride {tuple(cfg['strides'])} but the bundle's {op.op} has {strides}")
        op_pad = str(op.options.get("padding", "SAME")).upper()
        if op_pad == "EXPLICIT":
            # a folded PAD (tflite_graph.fold_pad_ops), e.g. a streaming bundle: exactly the layer's own pad
            pad = [int(v) for v in op.options.get("pad", ())]
            if cfg["padding"].upper() != "VALID" or _explicit_pad(layer) != pad:
                raise ConfigError(f"{name}: padding {cfg['padding']} {_explicit_pad(layer)} but the bundle's "
                                  f"{op.op} has explicit padding {pad}")
        elif op_pad != cfg["padding"].upper():
            edges = (time_padding == "valid" and op_pad == "SAME" and cfg["padding"].upper() == "VALID"
                     and _valid_in_time(layer, strides))
            if not edges:
                raise ConfigError(f"{name}: padding {cfg['padding']} but the bundle's {op.op} has "
                                  f"{op.options.get('padding')}"
                                  + (" (and its input is not SAME's frequency pad)"
                                     if time_padding == "valid" else ""))
        if op.options.get("activation", "NONE") != "RELU":
            raise ConfigError(f"{name}: the bundle's {op.op} has activation {op.options.get('activation')}, "
                              "the recipe a ReLU")
    elif op.options.get("activation", "NONE") != "NONE":
        raise ConfigError(f"{name}: the bundle's classifier has activation {op.options.get('activation')}")
    return edges


def _kernel(layer: Any, op: Any, w: np.ndarray) -> np.ndarray:
    """The TFLite weight array in Keras layout: CONV [O,H,W,I] -> [H,W,I,O]; DW [1,H,W,C*M] -> [H,W,C,M]."""
    if op.op == "CONV_2D":
        return np.transpose(w, (1, 2, 3, 0))
    if op.op == "DEPTHWISE_CONV_2D":
        h, k, cm = w.shape[1:]
        mult = int(layer.get_config().get("depth_multiplier", 1))
        return w.reshape(h, k, cm // mult, mult)
    return np.transpose(w, (1, 0))


def load_bundle_weights(model: Any, bundle_dir: str | Path, model_labels: list[str], *,
                        time_padding: str = "same", log: Callable[[str], Any] = print) -> list[str]:
    """Copy the bundle's dequantised weights into ``model`` (built from a matching recipe); layer names.

    The bundle's classifier is already in its ``labels`` order (``edgekws import`` permutes the
    model's outputs), which must be the student's. ``time_padding``: the recipe's; "valid" lets
    SAME operators load into the streaming form of the same layers, and ``log`` names them.
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
    loaded, edged = [], []
    for layer, op in zip(layers, ops, strict=True):
        kind = type(layer).__name__
        if op.op != _OPS[kind]:
            raise ConfigError(f"{layer.name}: a {kind} where the bundle has {op.op}")
        if _check_op(layer, op, time_padding):
            edged.append(layer.name)
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
    if edged:
        log(f"{bdir}: SAME weights loaded into valid-in-time {', '.join(edged)} (same kernels; "
            "the rows SAME computed from its zero time padding are gone until fine-tuning adapts)")
    return loaded
