"""Float training: seeds, best-checkpoint, early stopping, a rich progress bar, accuracy + confusion.

``fit`` is the loop shared by first training and every pruning fine-tune, so
both behave alike (same optimizer, same early stopping, same progress display).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import edgekws  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)
from edgekws.train.data import FeatureData, load_feature_data
from edgekws.train.models import build_model
from edgekws.train.recipe import Recipe

CHECKPOINT = "model_keras.h5"
TRAIN_JSON = "train.json"


@dataclass
class TrainResult:
    """What training produced; ``model`` is the best (restored) Keras model."""

    model: Any
    data: FeatureData
    recipe: Recipe
    history: dict[str, list[float]]
    float_accuracy: float
    confusion: np.ndarray
    seconds: float
    epochs_run: int
    out_dir: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def set_seed(seed: int) -> None:
    """Seed Python, numpy and TensorFlow so a rerun gives the same model on the same machine."""
    import tf_keras as keras

    keras.utils.set_random_seed(int(seed))


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> np.ndarray:
    """``cm[true, pred]`` counts, int64 [n, n]."""
    cm = np.zeros((n, n), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)), 1)
    return cm


def evaluate_float(model: Any, x: np.ndarray, y: np.ndarray, n_classes: int) -> tuple[float, np.ndarray]:
    """Accuracy and confusion of the float model on already normalised inputs ``[N, f, c, 1]``."""
    if len(y) == 0:
        return float("nan"), np.zeros((n_classes, n_classes), np.int64)
    pred = np.argmax(model.predict(x, batch_size=256, verbose=0), axis=-1)
    return float(np.mean(pred == y)), confusion_matrix(y, pred, n_classes)


def rich_progress_callback(total_epochs: int, steps: int, title: str, enabled: bool = True) -> Any:
    """A Keras callback that drives one rich progress bar over all training steps (Keras' own is off)."""
    import tf_keras as keras
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    class Cb(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TextColumn("{task.fields[info]}"), TimeElapsedColumn(),
                                     disable=not enabled, transient=False)
            self.progress.start()
            self.task = self.progress.add_task(title, total=total_epochs * steps, info="")
            self.epoch = 0

        def on_train_batch_end(self, batch, logs=None):
            self.progress.advance(self.task)

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            self.epoch = epoch + 1
            info = f"epoch {epoch + 1} loss {logs.get('loss', float('nan')):.3f}"
            if "val_accuracy" in logs:
                info += f" val_acc {logs['val_accuracy']:.3f}"
            self.progress.update(self.task, completed=(epoch + 1) * steps, info=info)

        def on_train_end(self, logs=None):
            self.progress.update(self.task, total=self.epoch * steps, completed=self.epoch * steps)
            self.progress.stop()

    return Cb()


def spec_augment(x: np.ndarray, rng: np.random.Generator, *, time_masks: int, time_mask_frames: int,
                 freq_masks: int, freq_mask_bins: int) -> np.ndarray:
    """SpecAugment-style masking of normalised features ``[N, frames, feats, ...]`` (a copy).

    Each example gets ``time_masks`` bands of 0..``time_mask_frames`` frames and ``freq_masks``
    bands of 0..``freq_mask_bins`` coefficients set to 0, which after normalisation is the
    training mean (a masked band carries no information, rather than a loud or silent one).
    """
    out = np.array(x, dtype=np.float32, copy=True)
    n, frames, feats = out.shape[0], out.shape[1], out.shape[2]
    for i in range(n):
        for _ in range(time_masks if time_mask_frames > 0 else 0):
            w = int(rng.integers(0, min(time_mask_frames, frames) + 1))
            t0 = int(rng.integers(0, frames - w + 1))
            out[i, t0 : t0 + w] = 0.0
        for _ in range(freq_masks if freq_mask_bins > 0 else 0):
            w = int(rng.integers(0, min(freq_mask_bins, feats) + 1))
            f0 = int(rng.integers(0, feats - w + 1))
            out[i, :, f0 : f0 + w] = 0.0
    return out


def mixup(x: np.ndarray, y: np.ndarray, alpha: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Mix each example (and its target row) with a random partner of the batch by lam ~ Beta(alpha, alpha).

    ``lam`` is folded to >= 0.5 so the first example stays the dominant one.
    """
    n = x.shape[0]
    lam = rng.beta(alpha, alpha, size=n).astype(np.float32)
    lam = np.maximum(lam, 1.0 - lam)
    partner = rng.permutation(n)
    lx = lam.reshape((n,) + (1,) * (x.ndim - 1))
    ly = lam.reshape(n, 1)
    return (lx * x + (1.0 - lx) * x[partner]).astype(np.float32), (ly * y + (1.0 - ly) * y[partner]).astype(np.float32)


def augmented_batches(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int, spec: Any) -> Any:
    """A Keras ``Sequence`` of freshly augmented batches (SpecAugment and/or mixup from a TrainSpec).

    Batch ``i`` of epoch ``e`` uses a generator seeded by ``(seed, e, i)`` and the epoch's own
    shuffle, so a rerun sees the very same batches; ``y`` are target rows (one-hot or soft).
    """
    import tf_keras as keras

    class Batches(keras.utils.Sequence):
        def __init__(self) -> None:
            super().__init__()
            self.epoch = 0
            self.order = np.random.default_rng([seed, 0, 1 << 30]).permutation(len(y))

        def __len__(self) -> int:
            return max(1, int(np.ceil(len(y) / batch_size)))

        def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
            idx = self.order[i * batch_size : (i + 1) * batch_size]
            rng = np.random.default_rng([seed, self.epoch, i])
            xb, yb = x[idx], y[idx]
            xb = spec_augment(xb, rng, time_masks=spec.time_masks, time_mask_frames=spec.time_mask_frames,
                              freq_masks=spec.freq_masks, freq_mask_bins=spec.freq_mask_bins)
            if spec.mixup_alpha > 0:
                xb, yb = mixup(xb, yb, spec.mixup_alpha, rng)
            return xb, yb

        def on_epoch_end(self) -> None:
            self.epoch += 1
            self.order = np.random.default_rng([seed, self.epoch, 1 << 30]).permutation(len(y))

    return Batches()


def fit(model: Any, data: FeatureData, *, epochs: int, batch_size: int, learning_rate: float, patience: int,
        seed: int, title: str = "train", checkpoint: Path | None = None, callbacks: list[Any] | None = None,
        progress: bool = True, compile_model: bool = True, early_stop_from: int = 0, teacher: Any = None,
        distill_weight: float = 0.5, augment: Any = None) -> dict[str, list[float]]:
    """Train ``model`` in place on ``data``; restores the best validation weights; returns the history.

    ``early_stop_from``: first epoch whose weights may be restored/stop training; pruning sets it
    to the epoch where the target sparsity is reached, so a less sparse early epoch never wins.
    ``teacher``: a model whose softmax outputs are mixed into the targets (knowledge distillation).
    ``augment``: a TrainSpec whose SpecAugment / mixup / label-smoothing fields apply to the
    training batches (None = plain batches, as for pruning fine-tunes).
    """
    import tf_keras as keras

    set_seed(seed)
    x, y = data.norm(data.x_train), data.y_train
    xv, yv = data.norm(data.x_val), data.y_val
    steps = max(1, int(np.ceil(len(y) / batch_size)))
    loss = "sparse_categorical_crossentropy"
    if teacher is not None:
        # distillation: targets mix the true label with the dense teacher's probabilities, which
        # carries the teacher's generalisation into the pruned student on small datasets
        n_cls = len(data.labels)
        soft = teacher.predict(x, batch_size=256, verbose=0)
        y = (1.0 - distill_weight) * np.eye(n_cls, dtype=np.float32)[y] + distill_weight * soft
        yv = np.eye(n_cls, dtype=np.float32)[yv]
        loss = "categorical_crossentropy"
    smoothing = float(getattr(augment, "label_smoothing", 0.0) or 0.0)
    batches = augment is not None and augment.feature_augment
    if (batches or smoothing > 0) and teacher is None:
        n_cls = len(data.labels)
        y = np.eye(n_cls, dtype=np.float32)[y]
        yv = np.eye(n_cls, dtype=np.float32)[yv]
        loss = "categorical_crossentropy"
    if loss == "categorical_crossentropy" and smoothing > 0:
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=smoothing)
    if compile_model:
        decay = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=max(1, epochs * steps),
                                                       alpha=0.05)
        model.compile(optimizer=keras.optimizers.Adam(decay), loss=loss, metrics=["accuracy"])
    cbs = list(callbacks or [])
    has_val = len(yv) > 0
    monitor = "val_accuracy" if has_val else "accuracy"
    cbs.append(keras.callbacks.EarlyStopping(monitor=monitor, patience=max(1, patience), mode="max",
                                             restore_best_weights=True,
                                             start_from_epoch=max(0, early_stop_from)))
    if checkpoint is not None:
        cbs.append(keras.callbacks.ModelCheckpoint(str(checkpoint), monitor=monitor, mode="max",
                                                   save_best_only=True, verbose=0))
    cbs.append(rich_progress_callback(epochs, steps, title, enabled=progress))
    if batches:
        hist = model.fit(augmented_batches(x, y, batch_size, seed, augment), epochs=epochs,
                         validation_data=(xv, yv) if has_val else None, verbose=0, callbacks=cbs)
    else:
        hist = model.fit(x, y, batch_size=batch_size, epochs=epochs,
                         validation_data=(xv, yv) if has_val else None, shuffle=True, verbose=0, callbacks=cbs)
    return {k: [float(v) for v in vals] for k, vals in hist.history.items()}


def print_confusion(cm: np.ndarray, labels: list[str], title: str) -> None:
    """Show a confusion matrix (rows = truth) as a rich table."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    table.add_column("true \\ pred")
    for lab in labels:
        table.add_column(lab.strip("_")[:4], justify="right", no_wrap=True)
    for i, lab in enumerate(labels):
        table.add_row(lab, *[(f"[bold]{v}[/bold]" if i == j else str(v)) if v else "." for j, v in enumerate(cm[i])])
    Console(stderr=True).print(table)


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write JSON via a temporary file in the same directory, then rename (no torn files)."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def train_model(recipe: Recipe, data_root: str | Path | None, out_dir: str | Path, *, epochs: int | None = None,
                seed: int | None = None, data: FeatureData | None = None, progress: bool = True,
                verbose: bool = True, cache_dir: str | Path | None = None) -> TrainResult:
    """Train ``recipe`` on the dataset at ``data_root`` (or on given ``data``); checkpoint into ``out_dir``.

    Early stopping only starts in the second half of the cosine schedule: on a small, noisy validation
    split an early high-learning-rate epoch would otherwise be kept as "best".
    Writes ``out_dir/model_keras.h5`` (best validation accuracy) and ``out_dir/train.json``
    (history, float test accuracy, confusion matrix, recipe, normalisation).
    """
    recipe = recipe.replace_train(epochs=epochs, seed=seed)
    out = Path(out_dir)
    t0 = time.perf_counter()
    if data is None:  # load (and so validate) the dataset before creating anything on disk
        if data_root is None:
            raise ValueError("train_model needs data_root or data")
        data = load_feature_data(data_root, recipe.frontend, augment=recipe.train.augment,
                                 seed=recipe.train.seed, cache_dir=cache_dir)
    out.mkdir(parents=True, exist_ok=True)
    t_data = time.perf_counter() - t0
    set_seed(recipe.train.seed)
    model = build_model(recipe.model, data.input_shape, len(data.labels), name=recipe.name.replace("-", "_"))
    ckpt = out / f".{CHECKPOINT}.best.h5"
    t1 = time.perf_counter()
    history = fit(model, data, epochs=recipe.train.epochs, batch_size=recipe.train.batch_size,
                  learning_rate=recipe.train.learning_rate, patience=recipe.train.patience,
                  seed=recipe.train.seed, title=f"train {recipe.name}", checkpoint=ckpt, progress=progress,
                  early_stop_from=recipe.train.epochs // 2, augment=recipe.train)
    t_fit = time.perf_counter() - t1
    if ckpt.exists():
        ckpt.unlink()  # the restored best weights are saved below under the final name
    save_keras(model, out / CHECKPOINT)
    acc, cm = evaluate_float(model, data.norm(data.x_test), data.y_test, len(data.labels))
    seconds = time.perf_counter() - t0
    result = TrainResult(model, data, recipe, history, acc, cm, seconds, len(history.get("loss", [])), out,
                         extra={"timings": {"load_data_s": t_data, "fit_s": t_fit}})
    write_json_atomic(out / TRAIN_JSON, {
        "recipe": recipe.to_dict(), "labels": data.labels, "frontend": data.frontend,
        "frontend_hash": data.frontend_hash, "input_norm": data.input_norm, "data_root": data.root,
        "data_sizes": data.sizes(), "history": history, "float_accuracy": acc, "confusion": cm.tolist(),
        "epochs_run": result.epochs_run, "timings": result.extra["timings"],
    })
    if verbose:
        from rich.console import Console

        Console(stderr=True).print(f"[bold]{recipe.name}[/bold]: float test accuracy {acc * 100:.2f} % "
                                   f"({len(data.y_test)} clips, {result.epochs_run} epochs, {seconds:.1f} s)")
        print_confusion(cm, data.labels, f"{recipe.name} confusion (float, test)")
    return result


def save_keras(model: Any, path: Path) -> None:
    """Save a Keras model atomically (HDF5: the format tf-keras and tfmot both read back)."""
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}.h5")
    model.save(str(tmp), include_optimizer=False)
    os.replace(tmp, path)


def load_keras(path: str | Path) -> Any:
    """Load a model saved by :func:`save_keras`."""
    import tf_keras as keras

    from edgekws.errors import BundleError

    try:
        return keras.models.load_model(str(path), compile=False)
    except (OSError, ValueError) as exc:
        raise BundleError(f"cannot load Keras model {path}: {str(exc).splitlines()[0]}") from exc
