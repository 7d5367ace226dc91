"""Unstructured (element-wise) magnitude pruning with tensorflow-model-optimization.

tfmot's polynomial schedule raises sparsity gradually during fine-tuning and
``strip_pruning`` leaves a plain Keras model whose zeros survive conversion
(BN folding scales a filter, so zeros stay zeros; symmetric int8 keeps 0 -> 0).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import edgekws  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)
from edgekws.train.data import FeatureData

PRUNABLE = ("Conv2D", "DepthwiseConv2D", "Dense")


def prunable_layer_names(model: Any, kinds: tuple[str, ...] = PRUNABLE, skip_first: bool = True) -> list[str]:
    """Names of weight layers to prune, in order; the first conv is skipped by default (few weights, big effect)."""
    names = [layer.name for layer in model.layers if type(layer).__name__ in kinds]
    first_conv = next((layer.name for layer in model.layers if type(layer).__name__ == "Conv2D"), None)
    if skip_first and first_conv in names:
        names.remove(first_conv)
    return names


def prune_unstructured(model: Any, data: FeatureData, *, sparsity: float, epochs: int, learning_rate: float,
                       batch_size: int = 64, skip_first: bool = True, seed: int = 0, progress: bool = True,
                       teacher: Any = None, distill_weight: float = 0.5) -> tuple[Any, dict[str, list[float]]]:
    """Fine-tune ``model`` under a polynomial sparsity schedule to ``sparsity``; return (stripped model, history)."""
    import tensorflow_model_optimization as tfmot
    import tf_keras as keras

    from edgekws.train.trainer import fit

    targets = set(prunable_layer_names(model, skip_first=skip_first))
    steps = max(1, int(np.ceil(len(data.y_train) / batch_size)))
    ramp_epochs = max(1, int(round(epochs * 0.6)))
    schedule = tfmot.sparsity.keras.PolynomialDecay(
        initial_sparsity=0.0, final_sparsity=float(sparsity), begin_step=0,
        end_step=max(1, ramp_epochs * steps - 1), power=3, frequency=max(1, steps // 4))

    weights = {layer.name: layer.get_weights() for layer in model.layers}

    def wrap(layer: Any) -> Any:
        clone = layer.__class__.from_config(layer.get_config())
        if layer.name in targets:
            return tfmot.sparsity.keras.prune_low_magnitude(clone, pruning_schedule=schedule)
        return clone

    pmodel = keras.models.clone_model(model, clone_function=wrap)
    for layer in pmodel.layers:
        inner = getattr(layer, "layer", layer)
        src = weights.get(inner.name)
        if src:
            inner.set_weights(src)
    history = fit(pmodel, data, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                  patience=epochs, seed=seed, title=f"prune element {sparsity:.0%}",
                  callbacks=[tfmot.sparsity.keras.UpdatePruningStep()], progress=progress,
                  early_stop_from=ramp_epochs, teacher=teacher, distill_weight=distill_weight)
    stripped = tfmot.sparsity.keras.strip_pruning(pmodel)
    return stripped, history
