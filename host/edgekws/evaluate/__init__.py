"""Evaluation of a bundle on any Speech Commands-layout dataset (real speech, official test set).

* :mod:`~edgekws.evaluate.scores` - pure figures: accuracies with Wilson intervals, recall, confusion,
  false accepts
* :mod:`~edgekws.evaluate.runner` - clips -> bundle frontend -> TFLite Micro (and a device), merged into
  report.json under ``evaluations``
"""

from edgekws.evaluate.runner import EvalConfig, evaluate_bundle, merge_evaluation
from edgekws.evaluate.scores import score

__all__ = ["EvalConfig", "evaluate_bundle", "merge_evaluation", "score"]
