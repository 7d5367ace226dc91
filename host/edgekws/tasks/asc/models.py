"""The scene CNN (and its wider teacher / device-classifier siblings) and its complexity, counted the challenge's way.

DCASE 2024 Task 1 limits a system to 128 kB of parameter memory and 30 M MACs for one
second of audio, and counts them on the trained network with NeSsi (torchinfo's
totals): *every* parameter (conv kernels, biases, batch-norm scales and shifts) at
the precision it is stored in, and the multiply-accumulates of the conv and dense
layers. :func:`complexity` counts the same on the Keras graph: MACs of a convolution
are ``out_h * out_w * out_c * k_h * k_w * in_c``, of a dense layer ``in * out``;
pooling, ReLU and batch norm (folded into the conv by the int8 converter) are not MACs.

Why a 1x1 conv to the classes before global average pooling, and no dense layer:
the head then costs ``H' W' C K`` MACs but the exported graph is CONV_2D, MAX_POOL_2D,
AVERAGE_POOL_2D, RESHAPE and SOFTMAX only, all of which the firmware runs
(:mod:`edgekws.tasks.asc.export` takes a trained model through the int8 bundle path).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

import edgekws  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)
from edgekws.errors import ConfigError

#: The challenge's limits (DCASE 2024 Task 1 rules).
MAX_PARAM_BYTES = 128 * 1024
MAX_MACS = 30_000_000
#: Same reason as tagging-ctc: Keras' 0.99 lags the weights over the few hundred steps these runs take.
BN_MOMENTUM = 0.9


def build_cnn(frames: int, bands: int, n_out: int, channels: tuple[int, ...], convs_per_block: int = 1,
              dropout: float = 0.0, name: str = "asc_cnn") -> Any:
    """Keras model ``[B, frames, bands, 1]`` -> ``[B, n_out]`` logits (softmax is applied in the loss)."""
    import tf_keras as keras

    layers = keras.layers
    inp = keras.Input(shape=(frames, bands, 1), name="features")
    x = inp
    for b, c in enumerate(channels):
        for j in range(convs_per_block):
            x = layers.Conv2D(c, 3, padding="same", use_bias=False, name=f"b{b}_conv{j}")(x)
            x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"b{b}_bn{j}")(x)
            x = layers.ReLU(name=f"b{b}_relu{j}")(x)
        if int(x.shape[1]) >= 2 and int(x.shape[2]) >= 2:
            x = layers.MaxPooling2D(2, name=f"b{b}_pool")(x)
    if int(x.shape[1]) < 1 or int(x.shape[2]) < 1:
        raise ConfigError(f"input {frames}x{bands} is too small for {len(channels)} pooling blocks")
    if dropout > 0:
        x = layers.Dropout(dropout, name="dropout")(x)
    x = layers.Conv2D(n_out, 1, name="classes")(x)
    # a full-size average pool, not GlobalAveragePooling2D: the same numbers, but it converts to
    # AVERAGE_POOL_2D (which the firmware runs) instead of MEAN (which it does not)
    x = layers.AveragePooling2D((int(x.shape[1]), int(x.shape[2])), name="gap")(x)
    x = layers.Flatten(name="logits")(x)  # a plain RESHAPE (Reshape((k,)) also emits SHAPE/STRIDED_SLICE/PACK)
    return keras.Model(inp, x, name=name)


@dataclass(frozen=True)
class Complexity:
    params: int  # every parameter, batch norm included (the challenge's count)
    macs: int  # for the model's input (one clip)
    conv_macs: dict[str, int]

    def param_bytes(self, bits: int) -> int:
        return self.params * bits // 8

    def within_limits(self, bits: int = 8) -> bool:
        return self.param_bytes(bits) <= MAX_PARAM_BYTES and self.macs <= MAX_MACS


def complexity(model: Any) -> Complexity:
    """Parameters and MACs of a built model, counted as the DCASE 2024 Task 1 rules count them."""
    import tf_keras as keras

    per: dict[str, int] = {}
    for layer in model.layers:
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            kh, kw = layer.kernel_size
            _, h, w, c = layer.output.shape
            per[layer.name] = int(h) * int(w) * int(c) * kh * kw
        elif isinstance(layer, keras.layers.Conv2D):
            kh, kw = layer.kernel_size
            _, h, w, c = layer.output.shape
            cin = int(layer.input.shape[-1])
            per[layer.name] = int(h) * int(w) * int(c) * kh * kw * cin // layer.groups
        elif isinstance(layer, keras.layers.Dense):
            per[layer.name] = int(layer.input.shape[-1]) * int(layer.units)
    # torchinfo counts nn.Parameters: BN's scale and shift are, its running mean/variance are buffers
    params = int(sum(int(np.prod(w.shape)) for w in model.weights
                     if not any(k in w.name for k in ("moving_mean", "moving_variance"))))
    return Complexity(params=params, macs=int(sum(per.values())), conv_macs=per)
