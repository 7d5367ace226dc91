"""Per-band feature normalisation of the host tasks, fitted on a training split and stored in the run.

Why shared: the scene and singing-voice tasks (and any task on the shared log-mel) standardise each
band with the training split's mean and standard deviation, write them into the run so evaluation
applies exactly the same numbers, and floor the deviation so a constant band does not divide by 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Smallest standard deviation used (dB): a silent or constant band is shifted, not blown up.
STD_FLOOR = 1e-3


@dataclass(frozen=True)
class Norm:
    """Per-band mean and standard deviation of a training split's log-mel (dB)."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, x_db: np.ndarray) -> Norm:
        """Statistics over every axis but the last (bands): clips x frames x bands or frames x bands."""
        x = np.asarray(x_db)
        axes = tuple(range(x.ndim - 1))
        return cls(x.mean(axis=axes).astype(np.float32), np.maximum(x.std(axis=axes), STD_FLOOR).astype(np.float32))

    @classmethod
    def from_dict(cls, d: dict[str, list[float]]) -> Norm:
        return cls(np.asarray(d["mean"], np.float32), np.asarray(d["std"], np.float32))

    def to_dict(self) -> dict[str, list[float]]:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    def __call__(self, x_db: np.ndarray) -> np.ndarray:
        return ((x_db - self.mean) / self.std).astype(np.float32)
