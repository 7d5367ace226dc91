"""The frame-wise vocal/non-vocal CNN: log-mel ``[T, bands]`` in, one vocal probability per frame out.

Why this shape: the detector must label every 20 ms frame, so the conv blocks pool only
along frequency (time resolution is never lost) and a temporal convolution over
``context`` frames then sees ~0.2 s around each frame (a voice's onset, vibrato, syllable
rate). The time axis is left open (``None``), so the model trained on fixed-length
excerpts scores whole songs of any length. Transfer learning reuses every layer: the
fine-tuned model is this network with the pre-trained weights as its start.
"""

from __future__ import annotations

from typing import Any

import edgekws  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)
from edgekws.errors import ConfigError
from edgekws.tasks.svd.config import ModelConfig

#: Same reason as asc/tagging-ctc: Keras' 0.99 lags the weights over the few hundred steps these runs take.
BN_MOMENTUM = 0.9


def build(bands: int, cfg: ModelConfig, name: str = "svd_cnn") -> Any:
    """Keras model ``[B, T, bands, 1]`` -> ``[B, T, 1]`` vocal probabilities."""
    import tf_keras as keras

    layers = keras.layers
    inp = keras.Input(shape=(None, bands, 1), name="features")
    x = inp
    f = bands
    for b, c in enumerate(cfg.channels):
        x = layers.Conv2D(c, 3, padding="same", use_bias=False, name=f"b{b}_conv")(x)
        x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"b{b}_bn")(x)
        x = layers.ReLU(name=f"b{b}_relu")(x)
        if f >= 2:
            x = layers.MaxPooling2D((1, 2), name=f"b{b}_pool")(x)
            f //= 2
    if f < 1:
        raise ConfigError(f"{bands} bands are too few for {len(cfg.channels)} pooling blocks")
    x = layers.Reshape((-1, f * cfg.channels[-1]), name="frames")(x)
    x = layers.Conv1D(cfg.hidden, cfg.context, padding="same", activation="relu", name="context")(x)
    if cfg.dropout > 0:
        x = layers.Dropout(cfg.dropout, name="dropout")(x)
    out = layers.Conv1D(1, 1, activation="sigmoid", name="vocal")(x)
    return keras.Model(inp, out, name=name)


def compile_model(model: Any, learning_rate: float) -> Any:
    import tf_keras as keras

    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="binary_crossentropy")
    return model
