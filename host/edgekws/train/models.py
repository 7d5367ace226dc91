"""Keras (tf-keras, Keras 2) builders for the model zoo.

Every model is a single chain (no branches) built only from layers whose TFLite
conversion yields ops the firmware implements: Conv2D/DepthwiseConv2D without
bias + BatchNorm (folded into the conv by the converter) + ReLU (fused), MaxPool,
an AveragePooling2D over the whole remaining map (GlobalAveragePooling2D would
become MEAN), Flatten (RESHAPE), Dense and Softmax. Dropout vanishes at inference.
Being a chain is what lets structured pruning follow channels layer by layer.
"""

from __future__ import annotations

from typing import Any

import edgekws  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)
from edgekws.errors import ConfigError
from edgekws.train.recipe import ModelSpec


def _keras() -> Any:
    import tf_keras as keras

    return keras


def same_split(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TFLite SAME padding of one axis as (before, after): the odd extra cell goes after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _conv_input(x: Any, spec: ModelSpec, kernel: tuple[int, int], strides: tuple[int, int],
                name: str) -> tuple[Any, str]:
    """The tensor a convolution reads and its Keras padding.

    ``time_padding: valid`` pads only the frequency axis, explicitly (TFLite PAD, which the
    exporter folds into the convolution), and the convolution itself is VALID.
    """
    if spec.time_padding == "same":
        return x, "same"
    before, after = same_split(int(x.shape[2]), kernel[1], strides[1])
    if before or after:
        x = _keras().layers.ZeroPadding2D(((0, 0), (before, after)), name=f"{name}_fpad")(x)
    return x, "valid"


def build_model(spec: ModelSpec, input_shape: tuple[int, int], n_classes: int, name: str = "kws") -> Any:
    """Build the float model for ``spec``; input [frames, feats, 1] (time = height)."""
    keras = _keras()
    layers = keras.layers
    frames, feats = input_shape
    inp = keras.Input(shape=(frames, feats, 1), name="features")
    x = inp
    for i, conv in enumerate(spec.convs):
        x, padding = _conv_input(x, spec, conv.kernel, conv.strides, f"conv{i}")
        x = layers.Conv2D(conv.filters, conv.kernel, strides=conv.strides, padding=padding, use_bias=False,
                          name=f"conv{i}")(x)
        x = layers.BatchNormalization(momentum=0.9, name=f"conv{i}_bn")(x)
        x = layers.ReLU(name=f"conv{i}_relu")(x)
        if conv.pool is not None:
            x = layers.MaxPooling2D(conv.pool, padding="valid", name=f"conv{i}_pool")(x)
    if spec.arch == "ds_cnn":
        for j, block in enumerate(spec.blocks):
            x, padding = _conv_input(x, spec, spec.dw_kernel, block.strides, f"dw{j}")
            x = layers.DepthwiseConv2D(spec.dw_kernel, strides=block.strides, padding=padding, use_bias=False,
                                       name=f"dw{j}")(x)
            x = layers.BatchNormalization(momentum=0.9, name=f"dw{j}_bn")(x)
            x = layers.ReLU(name=f"dw{j}_relu")(x)
            x = layers.Conv2D(block.filters, (1, 1), padding="same", use_bias=False, name=f"pw{j}")(x)
            x = layers.BatchNormalization(momentum=0.9, name=f"pw{j}_bn")(x)
            x = layers.ReLU(name=f"pw{j}_relu")(x)
    elif spec.blocks:
        raise ConfigError(f"model.blocks only apply to arch ds_cnn, not {spec.arch}")
    h, w = int(x.shape[1]), int(x.shape[2])
    if h < 1 or w < 1:
        raise ConfigError(f"input {frames}x{feats} is too small for this architecture")
    x = layers.AveragePooling2D((h, w), name="avg_pool")(x)
    x = layers.Flatten(name="flatten")(x)
    if spec.dropout > 0:
        x = layers.Dropout(spec.dropout, name="dropout")(x)
    x = layers.Dense(n_classes, name="fc")(x)
    out = layers.Softmax(name="softmax")(x)
    return keras.Model(inp, out, name=name)


def count_params(model: Any) -> int:
    """Parameters that reach the deployed model (conv/dense kernels and biases; BN folds away)."""
    total = 0
    for layer in model.layers:
        kind = type(layer).__name__
        if kind in ("Conv2D", "DepthwiseConv2D", "Dense"):
            total += sum(int(w.size) for w in layer.get_weights())
            if not layer.get_config().get("use_bias", True):
                # the folded BN provides a bias per output channel
                total += int(layer.get_weights()[0].shape[-1] if kind != "DepthwiseConv2D"
                             else layer.get_weights()[0].shape[2])
    return total
