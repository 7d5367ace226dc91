"""The lightweight temporal convolutional network: per-frame features -> posteriors of S1, systole, S2, diastole.

Why a TCN: the state of a frame depends on context of about one heart cycle
(~40 frames at 50 frames/s): stacked dilated 3-tap convolutions (dilations 1, 2,
4, 8, 16) see 63 frames on either side with a few thousand weights, and being
convolutional the model runs on a record of any length. Non-causal ("same")
padding: segmentation is offline, the decoder sees the whole record anyway.
Unannotated frames carry the label -1 and are masked out of the loss.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import edgekws  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)


def masked_loss(y_true: Any, y_pred: Any) -> Any:
    """Cross-entropy over frames whose label is 0..3; frames labelled -1 (unannotated, padding) count zero."""
    import tensorflow as tf

    y = tf.cast(tf.reshape(y_true, tf.shape(y_pred)[:2]), tf.int32)
    mask = tf.cast(y >= 0, y_pred.dtype)
    ce = tf.keras.losses.sparse_categorical_crossentropy(tf.maximum(y, 0), y_pred)
    return tf.reduce_sum(ce * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)


def build_tcn(n_features: int, channels: int = 16, dilations: tuple[int, ...] = (1, 2, 4, 8, 16),
              dropout: float = 0.1, learning_rate: float = 3e-3, name: str = "tcn") -> Any:
    """Compiled TCN: 1x1 projection, residual dilated conv blocks, 1x1 softmax head over 4 states."""
    import tf_keras as keras

    inp = keras.Input((None, n_features), name="features")
    h = keras.layers.Conv1D(channels, 1, name="project")(inp)
    for i, d in enumerate(dilations):
        r = keras.layers.Conv1D(channels, 3, padding="same", dilation_rate=d, activation="relu",
                                name=f"dil{d}_{i}")(h)
        r = keras.layers.Dropout(dropout, name=f"drop{i}")(r)
        h = keras.layers.Add(name=f"res{i}")([h, r])
    out = keras.layers.Conv1D(4, 1, activation="softmax", name="states")(h)
    model = keras.Model(inp, out, name=name)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=masked_loss)
    return model


def chunks(feats: list[np.ndarray], labels: list[np.ndarray], length: int) -> tuple[np.ndarray, np.ndarray]:
    """Fixed-length training chunks (half-overlapping) of records; the tail of a short record is padded with -1."""
    xs, ys = [], []
    for f, y in zip(feats, labels, strict=True):
        step = max(1, length // 2)
        for a in range(0, max(1, len(f) - length // 2), step):
            fx, fy = f[a:a + length], y[a:a + length]
            pad = length - len(fx)
            xs.append(np.pad(fx, ((0, pad), (0, 0))))
            ys.append(np.pad(fy, (0, pad), constant_values=-1))
    return np.stack(xs).astype(np.float32), np.stack(ys).astype(np.int32)


def params(model: Any) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))
