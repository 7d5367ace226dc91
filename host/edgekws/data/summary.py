"""What is in a dataset: class counts per split and a feature summary.

``edgekws data summary`` prints this; ``make demo`` calls it right after
``edgekws data synth`` as its first stage, so a broken dataset or frontend
shows up before any training starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgekws.data.features import (
    FeatureStats,
    ProgressFn,
    compute_split_features,
    feature_stats,
    load_feature_split,
)
from edgekws.data.speech_commands import (
    SPLITS,
    DatasetConfig,
    assign_splits,
    class_counts,
    list_split,
    scan_dataset,
    split_rule,
)


@dataclass
class SplitSummary:
    """Counts per class and feature statistics of one split."""

    split: str
    counts: dict[str, int]
    features: FeatureStats | None = None

    @property
    def total(self) -> int:
        """Examples in the split."""
        return sum(self.counts.values())


@dataclass
class DatasetSummary:
    """Summary of every split of a dataset folder."""

    root: Path
    labels: list[str]
    num_clips: int
    num_noise_files: int
    split_source: str
    splits: list[SplitSummary] = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-able form (for ``--json``)."""
        return {
            "root": str(self.root),
            "labels": self.labels,
            "num_clips": self.num_clips,
            "num_noise_files": self.num_noise_files,
            "split_source": self.split_source,
            "splits": {
                s.split: {
                    "counts": s.counts,
                    "total": s.total,
                    "features": None if s.features is None else {
                        "shape": list(s.features.shape), "mean": s.features.mean, "std": s.features.std,
                        "min": s.features.min, "max": s.features.max, "finite": s.features.finite,
                    },
                }
                for s in self.splits
            },
        }


def summarize_dataset(
    root: str | Path,
    frontend_cfg=None,
    *,
    dataset_cfg: DatasetConfig | None = None,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    progress: ProgressFn | None = None,
) -> DatasetSummary:
    """Class counts for all three splits; feature stats too when ``frontend_cfg`` is given.

    A split without any clip (the training and validation splits of a test-set
    archive) is reported with zero counts rather than as an error; a split that
    has clips but none of the wanted words is still an error.
    """
    cfg = dataset_cfg or DatasetConfig()
    index = scan_dataset(root)
    summary = DatasetSummary(
        root=Path(root), labels=list(cfg.labels), num_clips=index.num_clips,
        num_noise_files=len(index.noise_files), split_source=split_rule(index, cfg),
    )
    files = assign_splits(index, cfg)
    for split in SPLITS:
        if not files[split]:
            empty = None
            if frontend_cfg is not None:
                empty = feature_stats(compute_split_features(np.zeros((0, cfg.clip_samples), np.float32),
                                                             frontend_cfg))
            summary.splits.append(SplitSummary(split, dict.fromkeys(cfg.labels, 0), empty))
            continue
        examples = list_split(index, split, cfg)
        stats = None
        if frontend_cfg is not None:
            x, _, _ = load_feature_split(
                root, split, frontend_cfg, dataset_cfg=cfg, cache_dir=cache_dir, use_cache=use_cache,
                progress=progress,
            )
            stats = feature_stats(x)
        summary.splits.append(SplitSummary(split, class_counts(examples, cfg.labels), stats))
    return summary
