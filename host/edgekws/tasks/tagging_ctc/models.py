"""The CRNN of the comparison and its heads: CTC over frames vs global max / average pooling.

One trunk for all variants (conv blocks -> bidirectional GRU -> a dense layer per
frame) so the comparison isolates what the papers compare:

* ``ctc``: K+1 softmax outputs per frame (the last is the CTC blank), trained with
  the CTC loss on the ordered label sequence; a class's clip-level tag score is its
  highest frame posterior, and best-path decoding gives the sequence back;
* ``gmp`` / ``gap``: K sigmoid outputs per frame pooled over time by max / mean,
  trained with binary cross-entropy on the clip's tags (order is not used and
  cannot be decoded).

``glu=True`` replaces each block's ReLU by a gated linear unit: two parallel convs,
one multiplied by the sigmoid of the other, which lets the network learn per
time-frequency bin what to pass (the GLU-CTC/GMP/GAP variants).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import edgekws  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)
from edgekws.errors import ConfigError
from edgekws.tasks.tagging_ctc.config import ModelConfig

HEADS = ("ctc", "gmp", "gap")
PAD = -1  # padding value of the CTC label matrix
#: Keras' default 0.99 needs far more steps than a few hundred clips x 20 epochs give: the moving statistics
#: lag the weights and the validation loss (inference mode) climbs while the training loss falls (measured).
BN_MOMENTUM = 0.9


def output_frames(frames: int, cfg: ModelConfig) -> int:
    """Frames left after the blocks' time pooling (valid pooling: floor division per block)."""
    for p in cfg.time_pool:
        frames //= p
    return frames


def build_crnn(frames: int, feats: int, n_classes: int, head: str, glu: bool, cfg: ModelConfig,
               name: str = "crnn") -> Any:
    """Keras model ``[B, frames, feats, 1]`` -> ``[B, T', K+1]`` softmax (ctc) or ``[B, K]`` sigmoid (gmp/gap)."""
    import tf_keras as keras

    if head not in HEADS:
        raise ConfigError(f"unknown head {head!r}; valid: {', '.join(HEADS)}")
    layers = keras.layers
    inp = keras.Input(shape=(frames, feats, 1), name="features")
    x = inp
    for i, (c, tp, fp) in enumerate(zip(cfg.channels, cfg.time_pool, cfg.freq_pool, strict=True)):
        if glu:
            lin = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"b{i}_lin_bn")(
                layers.Conv2D(c, 3, padding="same", use_bias=False, name=f"b{i}_lin")(x))
            gate = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"b{i}_gate_bn")(
                layers.Conv2D(c, 3, padding="same", use_bias=False, name=f"b{i}_gate")(x))
            x = layers.Multiply(name=f"b{i}_glu")([lin, layers.Activation("sigmoid", name=f"b{i}_sig")(gate)])
        else:
            x = layers.Conv2D(c, 3, padding="same", use_bias=False, name=f"b{i}_conv")(x)
            x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"b{i}_bn")(x)
            x = layers.ReLU(name=f"b{i}_relu")(x)
        x = layers.MaxPooling2D((tp, fp), name=f"b{i}_pool")(x)
    t, f, ch = int(x.shape[1]), int(x.shape[2]), int(x.shape[3])
    if t < 1 or f < 1:
        raise ConfigError(f"input {frames}x{feats} is too small for the model's pooling")
    x = layers.Reshape((t, f * ch), name="to_sequence")(x)
    if cfg.dropout > 0:
        x = layers.Dropout(cfg.dropout, name="dropout")(x)
    x = layers.Bidirectional(layers.GRU(cfg.rnn_units, return_sequences=True), name="bigru")(x)
    if head == "ctc":
        out = layers.Dense(n_classes + 1, activation="softmax", name="frame_posteriors")(x)
    else:
        frame = layers.Dense(n_classes, activation="sigmoid", name="frame_tags")(x)
        pool = layers.GlobalMaxPooling1D if head == "gmp" else layers.GlobalAveragePooling1D
        out = pool(name=f"{head}_pool")(frame)
    return keras.Model(inp, out, name=name)


def ctc_loss(y_true: Any, y_pred: Any) -> Any:
    """CTC loss for label rows padded with :data:`PAD`; blank is the last output (Keras' convention)."""
    import tensorflow as tf
    import tf_keras as keras

    y = tf.cast(y_true, tf.int32)
    label_len = tf.reduce_sum(tf.cast(y >= 0, tf.int32), axis=1, keepdims=True)
    batch, steps = tf.shape(y_pred)[0], tf.shape(y_pred)[1]
    input_len = tf.fill([batch, 1], steps)
    return keras.backend.ctc_batch_cost(tf.maximum(y, 0), y_pred, input_len, label_len)


def compile_model(model: Any, head: str, learning_rate: float) -> None:
    import tf_keras as keras

    loss = ctc_loss if head == "ctc" else "binary_crossentropy"
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss)


def ctc_targets(sequences: list[list[int]], max_len: int) -> np.ndarray:
    """Label rows ``[N, max_len]`` padded with :data:`PAD` (what :func:`ctc_loss` reads)."""
    y = np.full((len(sequences), max_len), PAD, dtype=np.float32)
    for i, s in enumerate(sequences):
        y[i, : len(s)] = s
    return y


def tag_scores(outputs: np.ndarray, head: str) -> np.ndarray:
    """Clip-level scores ``[N, K]``: the pooled sigmoid (gmp/gap), the highest non-blank frame posterior (ctc)."""
    if head == "ctc":
        return np.asarray(outputs)[:, :, :-1].max(axis=1)
    return np.asarray(outputs)


def count_params(model: Any) -> int:
    return int(sum(int(np.prod(w.shape)) for w in model.trainable_weights))
