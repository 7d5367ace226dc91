"""The Keras training loop shared by task models: seeded, best-on-validation weights, progress per batch.

Why not :func:`edgekws.train.trainer.fit`: that loop is built around the KWS
bundle (softmax over 12 labels, accuracy, confusion). Task models have their own
losses (CTC, multi-label BCE) and targets, so this loop knows only "loss on the
validation split": it keeps the weights of the epoch with the lowest one (the
variants of a comparison are all selected the same way) and reports progress
through the task framework's callback, which the CLI turns into a rich bar.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import edgekws  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)
from edgekws.tasks.base import ProgressFn, no_progress


def set_seed(seed: int) -> None:
    """Seed Python, numpy and TensorFlow: the same config trains the same model on the same machine."""
    import tf_keras as keras

    keras.utils.set_random_seed(int(seed))


def fit(model: Any, x: np.ndarray | list[np.ndarray], y: np.ndarray, x_val: np.ndarray | list[np.ndarray],
        y_val: np.ndarray, *, epochs: int,
        batch_size: int, seed: int, title: str, progress: ProgressFn = no_progress) -> dict[str, list[float]]:
    """Train a compiled model; restore the weights of the best validation-loss epoch; return the history."""
    import tf_keras as keras

    n = len(x[0]) if isinstance(x, (list, tuple)) else len(x)  # a model with several inputs takes a list
    steps = max(1, int(np.ceil(n / batch_size)))
    total = epochs * steps

    class _Progress(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.done = 0
            self.best = np.inf
            self.best_weights: list[np.ndarray] | None = None

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            self.done += 1
            progress(title, self.done, total)

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            val = float((logs or {}).get("val_loss", np.inf))
            if np.isfinite(val) and val < self.best:
                self.best = val
                self.best_weights = self.model.get_weights()

    set_seed(seed)
    cb = _Progress()
    hist = model.fit(x, y, validation_data=(x_val, y_val), epochs=epochs, batch_size=batch_size, shuffle=True,
                     verbose=0, callbacks=[cb])
    if cb.best_weights is not None:
        model.set_weights(cb.best_weights)
    history = {k: [float(v) for v in vs] for k, vs in hist.history.items()}
    history["best_epoch"] = [float(int(np.argmin(history["val_loss"])) + 1)] if history.get("val_loss") else []
    return history
