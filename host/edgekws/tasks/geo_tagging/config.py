"""Configs of the geo-tagging task: generator, model, training; the context categories and the methods.

Frozen dataclasses with defaults sized for a run of a few minutes on two cores;
``edgekws task geo-tagging train --set epochs=30`` etc. scales them. The resolved
config is stored in the run directory (``task.json``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edgekws.errors import ConfigError

#: The 11 geospatial context categories (Geo-ATBench derives 11 from the map points of interest around the
#: recording location); the metadata CSV carries one ``poi_<category>`` column per category.
CONTEXT_CATEGORIES: tuple[str, ...] = ("residential", "commercial", "park", "transport", "water", "industrial",
                                       "education", "healthcare", "food_drink", "worship", "road")

#: The comparison: two baselines and the three places where context can join the audio.
METHODS: tuple[str, ...] = ("audio-only", "context-only", "feature-fusion", "representation-fusion",
                            "decision-fusion")
#: decision-fusion combines the two baselines' outputs, so it needs both trained.
DECISION_NEEDS = ("audio-only", "context-only")


@dataclass(frozen=True)
class SynthConfig:
    """The synthetic geo-tagged clip generator (``edgekws task geo-tagging data``).

    Each clip is a place: a dominant and a secondary context category; its POI counts
    (``poi_<category>``) are drawn from that mixture blurred by ``context_noise`` (a
    fraction of POIs of random categories), so the context vector is a noisy view of the
    scene, never the labels. ``min_events``..``max_events`` events are placed in
    ``clip_seconds`` of background noise at ``noise_dbfs``.
    """

    n_train: int = 600
    n_test: int = 300
    clip_seconds: float = 2.0
    sample_rate: int = 16000
    min_events: int = 1
    max_events: int = 3
    min_event_s: float = 0.3
    max_event_s: float = 0.7
    noise_dbfs: float = -45.0
    mean_pois: float = 25.0
    context_noise: float = 0.2
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n_train < 2 or self.n_test < 1:
            raise ConfigError("need n_train >= 2 and n_test >= 1")
        if not 1 <= self.min_events <= self.max_events:
            raise ConfigError(f"need 1 <= min_events <= max_events, got {self.min_events}, {self.max_events}")
        if not 0.05 <= self.min_event_s <= self.max_event_s <= self.clip_seconds:
            raise ConfigError("need 0.05 <= min_event_s <= max_event_s <= clip_seconds")
        if self.sample_rate < 16000:
            raise ConfigError(f"sample_rate must be >= 16000 (the frontend's), got {self.sample_rate}")
        if not 0.0 <= self.context_noise <= 1.0:
            raise ConfigError(f"context_noise must lie in [0, 1], got {self.context_noise}")
        if not self.mean_pois >= 1.0:
            raise ConfigError(f"mean_pois must be >= 1, got {self.mean_pois}")


@dataclass(frozen=True)
class ModelConfig:
    """The audio CNN shared by every audio method, and the context MLP.

    Conv blocks (3x3, BN, ReLU, pooling ``time_pool[i]`` x ``freq_pool[i]``), global max
    pooling over time and frequency (a short event anywhere in the clip counts) and a
    dense layer give the pooled ``embedding``; the context MLP has one hidden layer of
    ``context_units``. The fusions change only where context joins, so the comparison
    measures the fusion, not the size.
    """

    channels: tuple[int, ...] = (16, 32, 32)
    time_pool: tuple[int, ...] = (2, 2, 2)
    freq_pool: tuple[int, ...] = (2, 2, 2)
    embedding: int = 64
    context_units: int = 32
    dropout: float = 0.2

    def __post_init__(self) -> None:
        if not (len(self.channels) == len(self.time_pool) == len(self.freq_pool)) or not self.channels:
            raise ConfigError("model.channels, time_pool and freq_pool need the same non-zero length")
        if min(self.channels) < 1 or min(self.time_pool) < 1 or min(self.freq_pool) < 1:
            raise ConfigError("model channels and pools must be positive")
        if self.embedding < 1 or self.context_units < 1 or not 0.0 <= self.dropout < 1.0:
            raise ConfigError("model.embedding and context_units must be positive, dropout in [0, 1)")


@dataclass(frozen=True)
class TrainConfig:
    """``edgekws task geo-tagging train``: which methods, how long; clips are padded/cut to ``clip_seconds``.

    Without ``val`` rows in the metadata, ``val_fraction`` of the training clips
    (seeded) select the best epoch and fit the decision-level fusion.
    """

    methods: tuple[str, ...] = METHODS
    epochs: int = 25
    batch_size: int = 32
    learning_rate: float = 2e-3
    clip_seconds: float = 2.0
    val_fraction: float = 0.2
    n_boot: int = 200
    seed: int = 0
    model: ModelConfig = field(default_factory=ModelConfig)

    def __post_init__(self) -> None:
        bad = [m for m in self.methods if m not in METHODS]
        if bad or not self.methods:
            raise ConfigError(f"unknown method(s) {', '.join(bad) or '(none given)'}; valid: {', '.join(METHODS)}")
        if "decision-fusion" in self.methods and not set(DECISION_NEEDS) <= set(self.methods):
            raise ConfigError(f"decision-fusion combines {' and '.join(DECISION_NEEDS)}: list them in methods too")
        if self.epochs < 1 or self.batch_size < 1 or not self.learning_rate > 0 or self.n_boot < 1:
            raise ConfigError("epochs, batch_size, learning_rate and n_boot must be positive")
        if not 0 < self.val_fraction < 1 or not self.clip_seconds > 0:
            raise ConfigError("val_fraction must lie in (0, 1) and clip_seconds be positive")
