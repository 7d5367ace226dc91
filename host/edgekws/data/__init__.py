"""Keyword data: the Speech Commands layout, splits, augmentation, synthesis and feature arrays.

* :mod:`~edgekws.data.speech_commands` - scan a dataset folder, hash-stable splits, the 12-class task;
* :mod:`~edgekws.data.augment` - time shift, background noise, silence clips (seeded);
* :mod:`~edgekws.data.features` - ``load_feature_split`` / ``load_audio_split`` arrays, cached;
* :mod:`~edgekws.data.cache` - the atomic ``.npz`` feature cache;
* :mod:`~edgekws.data.download` - fetch/unpack the official archive;
* :mod:`~edgekws.data.synth` - espeak-ng synthetic dataset in the same layout;
* :mod:`~edgekws.data.summary` - class counts and feature statistics (``edgekws data summary``).
"""

from edgekws.data.augment import AugmentConfig, augment_batch, augment_clip, make_silence, time_shift
from edgekws.data.features import (
    FeatureStats,
    compute_split_features,
    feature_stats,
    load_audio_split,
    load_feature_split,
)
from edgekws.data.speech_commands import (
    BACKGROUND_NOISE_DIR,
    KEYWORDS,
    LABELS,
    SILENCE_LABEL,
    SPLITS,
    UNKNOWN_LABEL,
    DatasetConfig,
    DatasetIndex,
    Example,
    class_counts,
    list_split,
    normalize_split,
    scan_dataset,
    which_set,
)

__all__ = [
    "BACKGROUND_NOISE_DIR",
    "KEYWORDS",
    "LABELS",
    "SILENCE_LABEL",
    "SPLITS",
    "UNKNOWN_LABEL",
    "AugmentConfig",
    "DatasetConfig",
    "DatasetIndex",
    "Example",
    "FeatureStats",
    "augment_batch",
    "augment_clip",
    "class_counts",
    "compute_split_features",
    "feature_stats",
    "list_split",
    "load_audio_split",
    "load_feature_split",
    "make_silence",
    "normalize_split",
    "scan_dataset",
    "time_shift",
    "which_set",
]
