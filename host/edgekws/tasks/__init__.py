"""Host reference models for the other audio tasks of the research line (tagging, SED, scenes, ...).

Each task lives in its own package ``edgekws.tasks.<task>`` and exports ``TASK``
(an :class:`~edgekws.tasks.base.Task`). The registry maps CLI names to those
modules and imports a task only when it is used, so ``edgekws --help`` does not
load TensorFlow or any task's code.
"""

from __future__ import annotations

import importlib

from edgekws.errors import ConfigError
from edgekws.tasks.base import Anchor, Task

#: CLI name -> (module exporting TASK, one-line summary for --help without importing it).
REGISTRY: dict[str, tuple[str, str]] = {
    "tagging-ctc": ("edgekws.tasks.tagging_ctc",
                    "audio tagging from sequentially labelled clips: CRNN/GLU-CRNN with CTC vs max/avg pooling"),
    "sed-ctc": ("edgekws.tasks.sed_ctc",
                "sound event detection from sequentially labelled clips: CTC spikes + clustering vs weak labels"),
    "asc": ("edgekws.tasks.asc",
            "acoustic scene classification under device shift: CNN + City2Scene, entropy curriculum, DDSC"),
    "svd": ("edgekws.tasks.svd",
            "singing-voice detection: frame CNN pre-trained on speech over music, fine-tuned on singing"),
    "f0": ("edgekws.tasks.f0",
           "F0 estimation: pitch-salience CNN (harmonic CQT), pYIN, and pYIN filling/correcting the CNN; multi-F0"),
    "pcg-anomaly": ("edgekws.tasks.pcg_anomaly",
                    "heart-sound abnormality detection trained on normal records only: beta-VAE sweep, ROC AUC"),
    "pcg-seg": ("edgekws.tasks.pcg_seg",
                "heart-sound segmentation: topological features + TCN + duration-constrained Viterbi (TopSeg)"),
    "geo-tagging": ("edgekws.tasks.geo_tagging",
                    "audio tagging with geospatial context: audio/context-only vs feature/representation/decision fusion"),
}


def task_names() -> list[str]:
    return list(REGISTRY)


def get_task(name: str) -> Task:
    """The registered task; an unknown name is a one-line ConfigError listing the valid ones."""
    try:
        module, _ = REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown task {name!r}; valid: {', '.join(REGISTRY)}") from None
    return importlib.import_module(module).TASK


__all__ = ["REGISTRY", "Anchor", "Task", "get_task", "task_names"]
