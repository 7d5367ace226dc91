"""Feature splits as one object, normalised the way the deployed model expects.

The model never sees raw MFCCs: features are normalised per coefficient with
the training split's mean/std (``input_norm`` in the bundle), and the device
applies the very same numbers before quantizing its input. Keeping the three
splits and the statistics together makes every stage (train, prune, quantize,
evaluate) use one consistent normalisation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgekws.errors import DatasetError


@dataclass
class FeatureData:
    """Train/validation/test features ``[N, frames, feats]`` (raw, float32) with labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    labels: list[str]
    frontend: dict[str, Any]
    frontend_hash: str
    root: str | None = None
    mean: np.ndarray | None = None
    std: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.mean is None or self.std is None:
            if len(self.x_train) == 0:
                raise DatasetError("the training split is empty")
            self.mean = self.x_train.mean(axis=(0, 1)).astype(np.float32)
            # a floor keeps a constant coefficient from blowing up to inf
            self.std = np.maximum(self.x_train.std(axis=(0, 1)), 1e-3).astype(np.float32)

    @property
    def input_shape(self) -> tuple[int, int]:
        """(frames, feats) of one example."""
        return int(self.x_train.shape[1]), int(self.x_train.shape[2])

    @property
    def input_norm(self) -> dict[str, list[float]]:
        """The bundle's ``input_norm`` entry."""
        assert self.mean is not None and self.std is not None
        return {"mean": [float(v) for v in self.mean], "std": [float(v) for v in self.std]}

    def norm(self, x: np.ndarray) -> np.ndarray:
        """Normalised features with the channel axis: ``[N, frames, feats, 1]`` float32."""
        return ((x - self.mean) / self.std).astype(np.float32)[..., None]

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.y_train), "validation": len(self.y_val), "test": len(self.y_test)}


def load_feature_data(root: str | Path, frontend: Any, *, augment: bool = False, seed: int = 0,
                      cache_dir: str | Path | None = None,
                      input_norm: dict[str, list[float]] | None = None) -> FeatureData:
    """Load the three feature splits of a Speech Commands-layout folder.

    ``frontend``: a preset name, a FrontendConfig or its dict. ``input_norm``: reuse a model's
    normalisation (pruning/re-quantizing a trained model must feed it the numbers it was trained on)
    instead of computing it from this training split.
    """
    from edgekws.data.features import load_feature_split
    from edgekws.frontend import FrontendConfig, get_preset

    if isinstance(frontend, str):
        cfg = get_preset(frontend)
    elif isinstance(frontend, dict):
        cfg = FrontendConfig.from_dict(frontend)
    else:
        cfg = frontend
    if not Path(root).is_dir():
        raise DatasetError(f"dataset folder {root} does not exist")
    xt, yt, labels = load_feature_split(root, "training", cfg, cache_dir=cache_dir)
    if augment:
        # one time-shifted, noise-mixed copy *added* to the clean clips: the model sees both, and the
        # normalisation below is computed on the clean ones only (what the device will see)
        xa, ya, _ = load_feature_split(root, "training", cfg, augment=True, seed=seed, cache_dir=cache_dir)
    else:
        xa, ya = xt[:0], yt[:0]
    xv, yv, _ = load_feature_split(root, "validation", cfg, cache_dir=cache_dir)
    xs, ys, _ = load_feature_split(root, "testing", cfg, cache_dir=cache_dir)
    mean = std = None
    if input_norm is None:
        mean = xt.mean(axis=(0, 1)).astype(np.float32)
        std = np.maximum(xt.std(axis=(0, 1)), 1e-3).astype(np.float32)
    else:
        mean = np.asarray(input_norm["mean"], np.float32)
        std = np.asarray(input_norm["std"], np.float32)
        if mean.shape != (xt.shape[2],):
            raise DatasetError(f"the model expects {mean.shape[0]} features per frame, the data has {xt.shape[2]}")
    return FeatureData(np.concatenate([xt, xa]), np.concatenate([yt, ya]), xv, yv, xs, ys, list(labels),
                       cfg.to_dict(), cfg.hash(), root=str(root), mean=mean, std=std)


def synthetic_feature_data(n_per_class: int = 20, frames: int = 49, feats: int = 10, n_classes: int = 12,
                           seed: int = 0, noise: float = 0.7) -> FeatureData:
    """A small learnable stand-in for real features (class = a fixed random pattern + noise).

    Tests use it so training, pruning and quantization run in seconds without audio.
    """
    from edgekws.train.recipe import LABELS

    rng = np.random.default_rng(seed)
    protos = rng.normal(0, 1, size=(n_classes, frames, feats)).astype(np.float32)

    def split(n: int, offset: int) -> tuple[np.ndarray, np.ndarray]:
        r = np.random.default_rng(seed + offset)
        y = np.repeat(np.arange(n_classes), n)
        x = protos[y] + r.normal(0, noise, size=(len(y), frames, feats)).astype(np.float32)
        perm = r.permutation(len(y))
        return (x[perm] * 4.0 - 20.0).astype(np.float32), y[perm].astype(np.int64)

    xt, yt = split(n_per_class, 1)
    xv, yv = split(max(2, n_per_class // 4), 2)
    xs, ys = split(max(2, n_per_class // 4), 3)
    labels = list(LABELS[:n_classes]) if n_classes <= len(LABELS) else [f"c{i}" for i in range(n_classes)]
    frontend = {"name": "synthetic", "frames": frames, "feats": feats}
    return FeatureData(xt, yt, xv, yv, xs, ys, labels, frontend, "synthetic", root=None)
