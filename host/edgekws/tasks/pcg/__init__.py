"""Shared heart-sound (phonocardiogram, PCG) data: the PhysioNet/CinC 2016 and CirCor layouts, and a generator.

Not a registered task: the library both PCG tasks (``pcg-anomaly``: beta-VAE
abnormality detection; the TopSeg segmentation task) read their data with, so
the two agree on what a record, a label and a state annotation are.

* :mod:`.physionet`: ``training-a`` ... ``training-f`` folders of WAVs with ``REFERENCE.csv``
  (``a0001,-1``: -1 normal, 1 abnormal; an optional third quality column) -> records;
* :mod:`.annotations`: CirCor-style ``.tsv`` state annotations (``start end state``,
  0 unannotated, 1 S1, 2 systole, 3 S2, 4 diastole) <-> per-frame state arrays;
* :mod:`.synth`: synthetic phonocardiograms written in both layouts, with exact truth.

Audio is read at the ``pcg-logmel-16`` frontend preset's rate (:func:`pcg_frontend`).
"""

# No ``from __future__ import annotations`` here: it would bind the name ``annotations`` in this package
# to the __future__ feature and shadow the submodule (``from edgekws.tasks.pcg import annotations``).
from edgekws.frontend import FrontendConfig, get_preset

PRESET = "pcg-logmel-16"


def pcg_frontend() -> FrontendConfig:
    """The one frontend both PCG tasks use: 2 kHz (PhysioNet's rate), 50 frames/s, 16 log-mel bands 20-800 Hz."""
    return get_preset(PRESET)


__all__ = ["PRESET", "pcg_frontend"]
