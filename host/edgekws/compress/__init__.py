"""Pruning at every granularity the study compares, int8 quantization, and packaging into bundles.

``prune`` (element | block | nm | filter | kernel), ``quantize_int8`` (PTQ), ``finalize_bundle``
(quantize + measure with TFLite Micro + write the bundle) and the file-to-file stages of
``pipeline`` that the CLI and the demo call. TensorFlow is imported lazily.
"""

from edgekws.compress.finalize import finalize_bundle
from edgekws.compress.pipeline import load_source, prune_to_bundle, quantize_to_bundle, train_to_bundle
from edgekws.compress.prune import GRANULARITIES, PruneConfig, PruneResult, prune
from edgekws.compress.quantize import evaluate_int8, quantize_input, quantize_int8

__all__ = ["GRANULARITIES", "PruneConfig", "PruneResult", "evaluate_int8", "finalize_bundle", "load_source",
           "prune", "prune_to_bundle", "quantize_input", "quantize_int8", "quantize_to_bundle", "train_to_bundle"]
