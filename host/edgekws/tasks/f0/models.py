"""The pitch-salience CNN: fully convolutional over (time, pitch bin), one sigmoid salience per cell.

Fully convolutional so a model trained on 64-frame patches runs on a whole track
of any length; 'same' padding keeps the output on the input's grid, so output bin
``b`` of frame ``t`` is the salience of bin ``b``'s pitch at frame ``t``.
"""

from __future__ import annotations

from typing import Any

import edgekws  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)
from edgekws.tasks.f0.config import N_BINS, ModelConfig
from edgekws.tasks.f0.features import HARMONICS


def build_salience_cnn(cfg: ModelConfig, name: str = "f0_salience") -> Any:
    """``[batch, frames, N_BINS, harmonics]`` -> ``[batch, frames, N_BINS]`` salience in (0, 1)."""
    import tf_keras as keras

    inp = keras.Input((None, N_BINS, len(HARMONICS)), name="hcqt")
    x = keras.layers.BatchNormalization(name="bn_in")(inp)
    for i, (ch, kt, kb) in enumerate(zip(cfg.channels, cfg.kernel_frames, cfg.kernel_bins, strict=True)):
        x = keras.layers.Conv2D(ch, (kt, kb), padding="same", activation="relu", name=f"conv{i}")(x)
    x = keras.layers.Conv2D(1, (1, 1), activation="sigmoid", name="salience")(x)
    out = keras.layers.Reshape((-1, N_BINS), name="frames_bins")(x)
    return keras.Model(inp, out, name=name)


def weighted_bce(pos_weight: float) -> Any:
    """Binary cross-entropy with each cell weighted ``1 + pos_weight * target``.

    Why: about 1 % of the (frame, bin) cells are near a true F0; with plain BCE the
    network first learns "salience 0 everywhere" and, in the few epochs CI affords,
    never leaves it (measured: RPA 0 after 4 epochs on the tiny set). Weighting the
    target's cells by ``pos_weight`` puts the two kinds of error on a par.
    """
    import tensorflow as tf
    import tf_keras as keras

    def loss(y_true: Any, y_pred: Any) -> Any:
        return tf.reduce_mean(keras.backend.binary_crossentropy(y_true, y_pred) * (1.0 + pos_weight * y_true))

    return loss
