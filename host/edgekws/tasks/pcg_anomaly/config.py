"""Configs of the pcg-anomaly task: the generator (the shared PCG one) and the beta-VAE sweep.

Frozen dataclasses with defaults sized for the committed run (five betas on ~60
generated 10 s records in about a minute on two shared cores); the CI test shrinks
them with ``--set``. The resolved config is stored in the run directory (``task.json``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from edgekws.errors import ConfigError
from edgekws.tasks.pcg.synth import PcgSynthConfig

#: The anomaly scores every model is evaluated with (per record: the mean over its windows).
SCORES = ("reconstruction", "kl", "mahalanobis")

@dataclass(frozen=True)
class SynthConfig(PcgSynthConfig):
    """The shared PCG generator with more records by default: an AUC's interval narrows with the test records.

    160 records (25 % abnormal; PhysioNet 2016's training set is ~20 %) leave 36 normal and
    all 40 abnormal records for test; the segmentation task keeps the shared defaults.
    """

    normal_records: int = 120
    abnormal_records: int = 40


@dataclass(frozen=True)
class TrainConfig:
    """``edgekws task pcg-anomaly train``: one beta-VAE per beta, all trained on the same normal windows.

    Records: every abnormal record goes to test (the model never sees one); the
    normal records are split by the seed into test (``test_fraction``), validation
    (``val_fraction``, picks each model's best epoch by its own beta-ELBO) and training.
    Input: ``window_frames`` frames of the ``pcg-logmel-16`` log-mel (50 frames/s, so
    64 frames = 1.28 s, one cycle at 47 bpm and up) every ``window_hop`` frames,
    standardised per band with the training windows' statistics. Model: a dense
    encoder (``hidden`` units, ReLU) to a ``latent_dim`` Gaussian, a mirrored decoder;
    loss = ``0.5 * sum (x - x_hat)^2 + beta * KL(q(z|x) || N(0, I))`` per window.
    """

    betas: tuple[float, ...] = (0.1, 0.5, 1.0, 2.0, 4.0)
    window_frames: int = 64
    window_hop: int = 32
    hidden: int = 128
    latent_dim: int = 8
    epochs: int = 40
    batch_size: int = 64
    learning_rate: float = 1e-3
    test_fraction: float = 0.3
    val_fraction: float = 0.15
    bootstrap: int = 500
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.betas or not all(math.isfinite(b) and b > 0 for b in self.betas):
            raise ConfigError(f"betas must be a non-empty list of positive numbers, got {self.betas}")
        if len(set(self.betas)) != len(self.betas):
            raise ConfigError(f"betas must not repeat, got {self.betas}")
        if self.window_frames < 4 or not 1 <= self.window_hop <= self.window_frames:
            raise ConfigError("window_frames must be >= 4 and 1 <= window_hop <= window_frames")
        if self.hidden < 1 or self.latent_dim < 1 or self.epochs < 1 or self.batch_size < 1:
            raise ConfigError("hidden, latent_dim, epochs and batch_size must be at least 1")
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise ConfigError("learning_rate must be > 0")
        if not (0 < self.test_fraction < 1 and 0 < self.val_fraction < 1 and self.test_fraction + self.val_fraction < 1):
            raise ConfigError("test_fraction and val_fraction must lie in (0, 1) and sum to less than 1")
        if self.bootstrap < 0:
            raise ConfigError("bootstrap must be >= 0")


def beta_name(beta: float) -> str:
    """A model's file stem: ``beta-0.1``, ``beta-2`` (``%g``: the same beta always names the same file)."""
    return f"beta-{beta:g}"
