"""One entry point for every pruning granularity the study compares.

``prune(model, data, PruneConfig(...))`` returns the pruned float Keras model
(dense weights with zeros, or a smaller dense model for ``filter``) plus what the
bundle's ``compression`` entry records. Quantization and packaging follow in
:mod:`edgekws.compress.finalize`, the same for every granularity.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

import edgekws  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)
from edgekws.compress.sparsity_patterns import Pattern, apply_pattern_once, cubic_schedule, pattern_callback
from edgekws.errors import ConfigError
from edgekws.train.data import FeatureData

GRANULARITIES = ("element", "block", "nm", "filter", "kernel")


@dataclass(frozen=True)
class PruneConfig:
    """How to prune. ``sparsity`` is the fraction of weights (filters for ``filter``) removed per layer."""

    granularity: str
    sparsity: float = 0.5
    epochs: int = 20
    learning_rate: float = 2e-3
    batch_size: int = 64
    skip_first: bool = True
    importance: str = "l1"
    block: tuple[int, int] = (1, 4)
    n: int = 2
    m: int = 4
    channel_multiple: int = 4
    distill: float = 0.5
    seed: int = 0

    def __post_init__(self) -> None:
        if self.granularity not in GRANULARITIES:
            raise ConfigError(f"unknown granularity {self.granularity!r} (use {', '.join(GRANULARITIES)})")
        if not 0.0 <= self.sparsity < 1.0:
            raise ConfigError(f"sparsity must be in [0, 1), got {self.sparsity}")
        if self.epochs < 0:
            raise ConfigError(f"epochs must be >= 0, got {self.epochs}")

    @classmethod
    def from_recipe(cls, recipe: Any, granularity: str, sparsity: float = 0.5, **overrides: Any) -> PruneConfig:
        """The recipe's fine-tuning defaults (epochs, learning rate, distillation, ...) plus overrides."""
        p = recipe.prune
        lr = p.filter_learning_rate if granularity == "filter" else p.learning_rate
        base = {"epochs": p.epochs, "learning_rate": lr, "batch_size": recipe.train.batch_size,
                "skip_first": p.skip_first, "importance": p.importance, "distill": p.distill,
                "seed": recipe.train.seed}
        base.update({k: v for k, v in overrides.items() if v is not None})
        return cls(granularity, sparsity, **base)

    @property
    def effective_sparsity(self) -> float:
        """N:M fixes the sparsity at 1 - N/M."""
        return 1.0 - self.n / self.m if self.granularity == "nm" else self.sparsity

    def label(self) -> str:
        """Short human name used in bundle names and report legends."""
        if self.granularity == "nm":
            return f"nm{self.n}of{self.m}"
        if self.granularity == "block":
            return f"block{self.block[0]}x{self.block[1]}-{round(self.sparsity * 100)}"
        return f"{self.granularity}-{round(self.sparsity * 100)}"


@dataclass
class PruneResult:
    """Pruned float model and its provenance."""

    model: Any
    config: PruneConfig
    history: dict[str, list[float]]
    seconds: float
    info: dict[str, Any] = field(default_factory=dict)

    def compression(self) -> dict[str, Any]:
        """The bundle's ``compression`` entry (without the quantization part)."""
        cfg = asdict(self.config)
        cfg["block"] = list(self.config.block)
        return {"pruning": {**cfg, "effective_sparsity": self.config.effective_sparsity,
                            "layer_sparsity": keras_layer_sparsity(self.model), **self.info}}


def keras_layer_sparsity(model: Any) -> dict[str, float]:
    """Fraction of zero kernel weights per conv/dense layer of a Keras model."""
    out = {}
    for layer in model.layers:
        if type(layer).__name__ in ("Conv2D", "DepthwiseConv2D", "Dense"):
            k = layer.get_weights()[0]
            out[layer.name] = round(float(1.0 - np.count_nonzero(k) / k.size), 6)
    return out


def _pattern_layers(model: Any, pattern: Pattern, skip_first: bool) -> list[Any]:
    layers = [layer for layer in model.layers if pattern.applies_to(type(layer).__name__)]
    first_conv = next((layer for layer in model.layers if type(layer).__name__ == "Conv2D"), None)
    if skip_first and first_conv is not None and first_conv in layers:
        layers.remove(first_conv)
    return layers


def prune_with_pattern(model: Any, data: FeatureData, cfg: PruneConfig, progress: bool = True,
                       ) -> tuple[Any, dict[str, list[float]]]:
    """N:M, block or kernel pruning by masked fine-tuning of a copy of ``model``."""
    import tf_keras as keras

    from edgekws.train.trainer import fit

    work = keras.models.clone_model(model)
    work.set_weights(model.get_weights())
    pattern = Pattern(cfg.granularity, n=cfg.n, m=cfg.m, block=cfg.block)
    layers = _pattern_layers(work, pattern, cfg.skip_first)
    target = cfg.effective_sparsity
    if cfg.epochs == 0:
        apply_pattern_once(layers, pattern, target)
        return work, {}
    ramp = 0 if cfg.granularity == "nm" else max(1, int(round(cfg.epochs * 0.6)))
    cb = pattern_callback(layers, pattern, cubic_schedule(target, ramp))
    history = fit(work, data, epochs=cfg.epochs, batch_size=cfg.batch_size, learning_rate=cfg.learning_rate,
                  patience=cfg.epochs, seed=cfg.seed, title=f"prune {pattern.describe()} {target:.0%}",
                  callbacks=[cb], progress=progress, early_stop_from=max(0, ramp - 1),
                  teacher=model if cfg.distill > 0 else None, distill_weight=cfg.distill)
    apply_pattern_once(layers, pattern, target)  # exact pattern even if a restored epoch drifted by rounding
    return work, history


def prune(model: Any, data: FeatureData, cfg: PruneConfig, *, progress: bool = True) -> PruneResult:
    """Prune a trained float model at ``cfg.granularity``; the input model is left unchanged."""
    t0 = time.perf_counter()
    info: dict[str, Any] = {}
    teacher = model if cfg.distill > 0 else None
    if cfg.granularity == "element":
        from edgekws.compress.prune_unstructured import prune_unstructured

        pruned, history = prune_unstructured(model, data, sparsity=cfg.sparsity, epochs=max(1, cfg.epochs),
                                             learning_rate=cfg.learning_rate, batch_size=cfg.batch_size,
                                             skip_first=cfg.skip_first, seed=cfg.seed, progress=progress,
                                             teacher=teacher, distill_weight=cfg.distill)
    elif cfg.granularity == "filter":
        from edgekws.compress.prune_structured import prune_filters

        pruned, history, info = prune_filters(model, data, sparsity=cfg.sparsity, epochs=max(1, cfg.epochs),
                                              learning_rate=cfg.learning_rate, batch_size=cfg.batch_size,
                                              importance=cfg.importance, multiple=cfg.channel_multiple,
                                              seed=cfg.seed, progress=progress, teacher=teacher,
                                              distill_weight=cfg.distill)
    else:
        pruned, history = prune_with_pattern(model, data, cfg, progress=progress)
    params_before = int(model.count_params())
    info.setdefault("keras_params_before", params_before)
    info.setdefault("keras_params_after", int(pruned.count_params()))
    return PruneResult(pruned, cfg, history, time.perf_counter() - t0, info)
