"""The five methods: audio-only CNN, context-only MLP, and three places where context joins the audio.

One audio trunk (conv blocks -> global max pooling -> dense ``embedding``) and one
tagging head (dense -> dropout -> sigmoid per event) shared by every audio method, so
the methods differ only in where the context vector enters:

* ``audio-only``: trunk -> head;
* ``context-only``: MLP on the context vector (what the place alone predicts);
* ``feature-fusion`` (early): the context vector is repeated over every
  time-frequency bin and stacked onto the log-mel input as extra channels, so the first
  convolution already sees it;
* ``representation-fusion``: the context vector is concatenated to the pooled audio
  embedding before the head;
* ``decision-fusion`` (late): the trained audio-only and context-only models are kept as
  they are; per event, ``sigmoid(a * audio_logit + b * context_logit + c)`` is fitted by
  logistic regression on the validation clips. Why on validation, not training clips:
  each expert's logits on its own training clips are over-confident, so weights fitted
  there would trust them too much; with ``a = b = 1, c = 0`` the rule is a product of
  experts (the odds multiply), which is the fallback for an event whose validation clips
  are all positive or all negative.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import edgekws  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)
from edgekws.errors import ConfigError
from edgekws.tasks.geo_tagging.config import ModelConfig

KERAS_METHODS = ("audio-only", "context-only", "feature-fusion", "representation-fusion")
#: See tagging_ctc.models.BN_MOMENTUM: a few hundred clips x tens of epochs need faster moving statistics.
BN_MOMENTUM = 0.9
LOGIT_CLIP = 1e-6


def uses_audio(method: str) -> bool:
    return method != "context-only"


def uses_context(method: str) -> bool:
    return method != "audio-only"


def _trunk(x: Any, cfg: ModelConfig) -> Any:
    """Conv blocks -> global max pool -> the pooled ``embedding`` (a short event anywhere in the clip counts)."""
    import tf_keras as keras

    layers = keras.layers
    for i, (c, tp, fp) in enumerate(zip(cfg.channels, cfg.time_pool, cfg.freq_pool, strict=True)):
        x = layers.Conv2D(c, 3, padding="same", use_bias=False, name=f"b{i}_conv")(x)
        x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"b{i}_bn")(x)
        x = layers.ReLU(name=f"b{i}_relu")(x)
        if int(x.shape[1]) < tp or int(x.shape[2]) < fp:
            raise ConfigError(f"input is too small for the model's pooling at block {i}")
        x = layers.MaxPooling2D((tp, fp), name=f"b{i}_pool")(x)
    x = layers.GlobalMaxPooling2D(name="pool")(x)
    return layers.Dense(cfg.embedding, activation="relu", name="embedding")(x)


def _head(x: Any, n_classes: int, cfg: ModelConfig) -> Any:
    import tf_keras as keras

    layers = keras.layers
    x = layers.Dense(cfg.embedding, activation="relu", name="head_hidden")(x)
    if cfg.dropout > 0:
        x = layers.Dropout(cfg.dropout, name="head_dropout")(x)
    return layers.Dense(n_classes, activation="sigmoid", name="tags")(x)


def build(method: str, frames: int, bands: int, n_context: int, n_classes: int, cfg: ModelConfig) -> Any:
    """Keras model of ``method``: inputs ``[features [B, frames, bands, 1]]``, ``[context [B, C]]`` or both
    (in that order, see :func:`inputs_for`) -> ``[B, K]`` sigmoid tag probabilities."""
    import tf_keras as keras

    if method not in KERAS_METHODS:
        raise ConfigError(f"{method!r} is not a Keras model; valid: {', '.join(KERAS_METHODS)}")
    layers = keras.layers
    feats = keras.Input(shape=(frames, bands, 1), name="features")
    ctx = keras.Input(shape=(n_context,), name="context")
    name = method.replace("-", "_")
    if method == "context-only":
        h = layers.Dense(cfg.context_units, activation="relu", name="context_hidden")(ctx)
        return keras.Model(ctx, layers.Dense(n_classes, activation="sigmoid", name="tags")(h), name=name)
    if method == "audio-only":
        return keras.Model(feats, _head(_trunk(feats, cfg), n_classes, cfg), name=name)
    if method == "feature-fusion":
        # repeat the context over every (frame, band): [B, C] -> [B, frames, bands, C], stacked as channels
        tiled = layers.UpSampling2D(size=(frames, bands), name="context_tiled")(
            layers.Reshape((1, 1, n_context), name="context_map")(ctx))
        x = layers.Concatenate(axis=-1, name="features_and_context")([feats, tiled])
        return keras.Model([feats, ctx], _head(_trunk(x, cfg), n_classes, cfg), name=name)
    emb = layers.Concatenate(name="embedding_and_context")([_trunk(feats, cfg), ctx])
    return keras.Model([feats, ctx], _head(emb, n_classes, cfg), name=name)


def inputs_for(method: str, features: np.ndarray, context: np.ndarray) -> list[np.ndarray]:
    """The arrays ``method``'s model takes, in its input order."""
    return [a for a, used in ((features, uses_audio(method)), (context, uses_context(method))) if used]


def compile_model(model: Any, learning_rate: float) -> None:
    import tf_keras as keras

    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="binary_crossentropy")


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), LOGIT_CLIP, 1.0 - LOGIT_CLIP)
    return np.log(p) - np.log1p(-p)


def fit_decision(p_audio: np.ndarray, p_context: np.ndarray, truth: np.ndarray, seed: int = 0) -> np.ndarray:
    """Per event ``[a, b, c]`` of ``sigmoid(a * audio_logit + b * context_logit + c)``, fitted on these clips."""
    from sklearn.linear_model import LogisticRegression

    za, zc = logit(p_audio), logit(p_context)
    truth = np.asarray(truth).astype(int)
    weights = np.tile([1.0, 1.0, 0.0], (truth.shape[1], 1))
    for k in range(truth.shape[1]):
        if truth[:, k].min() == truth[:, k].max():
            continue  # one class only: keep the product of experts
        lr = LogisticRegression(C=1.0, random_state=seed).fit(np.stack([za[:, k], zc[:, k]], axis=1), truth[:, k])
        weights[k] = [lr.coef_[0, 0], lr.coef_[0, 1], lr.intercept_[0]]
    return weights


def apply_decision(weights: np.ndarray, p_audio: np.ndarray, p_context: np.ndarray) -> np.ndarray:
    """Fused tag probabilities ``[N, K]`` of the two experts' probabilities."""
    w = np.asarray(weights, dtype=np.float64)
    z = w[:, 0] * logit(p_audio) + w[:, 1] * logit(p_context) + w[:, 2]
    return 1.0 / (1.0 + np.exp(-z))


def count_params(model: Any) -> int:
    return int(sum(int(np.prod(w.shape)) for w in model.trainable_weights))
