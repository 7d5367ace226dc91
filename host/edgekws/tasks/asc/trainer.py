"""The epoch loop every asc model trains with: fresh augmentation per epoch, optional curriculum and distillation.

Why not :func:`edgekws.tasks.fit.fit`: the curricula change *which* clips an epoch
sees and *how much* each counts, and the augmentation is redrawn per epoch, so the
loop runs one Keras epoch at a time over an array it prepares itself. Fixed epoch
count, last weights kept (as the DCASE baseline does; the rate decays on a cosine so
they come from a settled optimiser, :func:`cosine_lr`): the small training subsets
leave no clips to spare for a validation split, and the challenge forbids taking them
from elsewhere.

The loss is ``(1 - a) * CE(labels, softmax(z)) + a * T^2 * KL(teacher_T || softmax(z / T))``
(Hinton et al.'s distillation; ``a = 0`` is plain cross-entropy). Targets travel as
one array ``[one-hot labels | teacher probabilities at T]`` so Keras' per-sample
weights apply to the whole loss.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

import edgekws  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)
from edgekws.tasks.asc import augment
from edgekws.tasks.asc.config import AugmentConfig
from edgekws.tasks.base import ProgressFn, no_progress
from edgekws.tasks.norm import Norm


def distill_loss(n_classes: int, kd_weight: float, temperature: float) -> Callable[[Any, Any], Any]:
    """Keras loss over targets ``[N, 2K]`` (labels | teacher probabilities at ``temperature``) and logits ``[N, K]``."""
    import tensorflow as tf

    def loss(y_true: Any, logits: Any) -> Any:
        labels, teacher = y_true[:, :n_classes], y_true[:, n_classes:]
        ce = tf.nn.softmax_cross_entropy_with_logits(labels, logits)
        if kd_weight == 0:
            return ce
        log_student = tf.nn.log_softmax(logits / temperature)
        kl = tf.reduce_sum(teacher * (tf.math.log(tf.maximum(teacher, 1e-12)) - log_student), axis=1)
        return (1.0 - kd_weight) * ce + kd_weight * temperature * temperature * kl

    return loss


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = np.asarray(logits, np.float64) / temperature
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return (z / z.sum(axis=1, keepdims=True)).astype(np.float32)


def per_clip_ce(model: Any, x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Cross-entropy of each clip under the model now (clean inputs): DDSC's learning-progress input."""
    p = softmax(model.predict(x[..., None], batch_size=256, verbose=0))
    return -np.log(np.maximum(p[np.arange(len(labels)), labels], 1e-12))


def cosine_lr(base: float, epoch: int, epochs: int) -> float:
    """Learning rate of an epoch: cosine from ``base`` down to 2 % of it in the last epoch.

    Why: the last epoch's weights are the model (no validation split to pick another), so
    they must come from a settled optimiser; at a constant rate they jump between epochs
    by more than the methods differ (measured: a 16-point dip of one subset's baseline).
    """
    if epochs <= 1:
        return base
    return base * (0.02 + 0.98 * 0.5 * (1.0 + math.cos(math.pi * epoch / (epochs - 1))))


#: ``select(epoch) -> indices`` and ``weigh(epoch, model) -> per-clip weights`` (over all clips).
Select = Callable[[int], np.ndarray]
Weigh = Callable[[int, Any], np.ndarray]


def train(model: Any, x_db: np.ndarray, labels: np.ndarray, n_classes: int, norm: Norm, aug: AugmentConfig,
          dir_gains: np.ndarray, *, epochs: int, batch_size: int, learning_rate: float, seed: int, title: str,
          teacher: np.ndarray | None = None, kd_weight: float = 0.0, temperature: float = 1.0,
          select: Select | None = None, weigh: Weigh | None = None,
          progress: ProgressFn = no_progress) -> dict[str, list[float]]:
    """Train ``model`` (logits out) on raw dB features ``x_db [N, frames, bands]``; returns per-epoch history."""
    import tf_keras as keras

    n = len(x_db)
    onehot = np.eye(n_classes, dtype=np.float32)[labels]
    soft = teacher if teacher is not None else np.zeros_like(onehot)
    targets = np.concatenate([onehot, soft.astype(np.float32)], axis=1)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=distill_loss(n_classes, kd_weight if teacher is not None else 0.0, temperature))
    history: dict[str, list[float]] = {"loss": [], "fraction": [], "weight_max": []}
    total_steps = sum(int(np.ceil(len(select(e)) / batch_size)) if select else int(np.ceil(n / batch_size))
                      for e in range(epochs))
    done = [0]

    class _Progress(keras.callbacks.Callback):
        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            done[0] += 1
            progress(title, done[0], total_steps)

    for epoch in range(epochs):
        keras.backend.set_value(model.optimizer.learning_rate, cosine_lr(learning_rate, epoch, epochs))
        rng = np.random.default_rng([seed, 41, epoch])
        idx = select(epoch) if select is not None else np.arange(n)
        weights = weigh(epoch, model)[idx] if weigh is not None else None
        xb = augment.apply_dir(x_db[idx], dir_gains, aug.dir_p, rng)
        xb = augment.freq_mixstyle(norm(xb), aug.mixstyle_p, aug.mixstyle_alpha, rng)
        h = model.fit(xb[..., None], targets[idx], sample_weight=weights, epochs=1, batch_size=batch_size,
                      shuffle=True, verbose=0, callbacks=[_Progress()])
        history["loss"].append(float(h.history["loss"][0]))
        history["fraction"].append(len(idx) / n)
        history["weight_max"].append(float(weights.max()) if weights is not None else 1.0)
    return history
