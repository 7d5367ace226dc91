"""Config of the pcg-seg task's training run (the generator's is the shared :class:`~edgekws.tasks.pcg.synth.PcgSynthConfig`).

Defaults sized for the committed benchmark on two shared cores (every input type
at 10/25/50/100 % of the training subjects, a ~5 k-weight TCN each); the CI test
shrinks them with ``--set``. The resolved config is stored in ``task.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edgekws.errors import ConfigError
from edgekws.tasks.pcg_seg.features import INPUTS
from edgekws.tasks.pcg_seg.topo import TopoConfig


@dataclass(frozen=True)
class ModelConfig:
    """The TCN: ``channels`` wide, one residual 3-tap block per dilation."""

    channels: int = 16
    dilations: tuple[int, ...] = (1, 2, 4, 8, 16)
    dropout: float = 0.1


@dataclass(frozen=True)
class TrainConfig:
    """What ``edgekws task pcg-seg train`` does.

    ``inputs``: the per-frame input types, each trained into the same TCN and
    decoded by the same decoder (``topo`` is TopSeg's; ``topo+envelope`` asks whether
    topology adds to the envelope; ``envelope`` and ``logmel`` are the baselines). ``fractions``: percent of the training *subjects* for the
    data-efficiency curve (nested: 10 % is a subset of 25 %). ``logreg``: also the
    in-house logistic-regression + duration-decoder stand-in for Springer's LR-HSMM
    (on the envelope input, at every fraction). Subjects are split test/train once,
    by ``seed``; ``val_fraction`` of each training subset's subjects choose the epoch.
    """

    inputs: tuple[str, ...] = ("topo", "topo+envelope", "envelope", "logmel")
    fractions: tuple[int, ...] = (10, 25, 50, 100)
    logreg: bool = True
    test_fraction: float = 0.3
    val_fraction: float = 0.15
    envelope_cutoffs_hz: tuple[float, ...] = (4.0, 8.0, 16.0)
    topo: TopoConfig = field(default_factory=TopoConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    epochs: int = 30
    min_steps: int = 300
    batch_size: int = 16
    learning_rate: float = 3e-3
    chunk_frames: int = 250
    tolerance_s: float = 0.06
    duration_margin: float = 0.2
    seed: int = 0

    def __post_init__(self) -> None:
        bad = [k for k in self.inputs if k not in INPUTS]
        if bad or not self.inputs:
            raise ConfigError(f"inputs must be some of {', '.join(INPUTS)}, got {', '.join(self.inputs) or 'none'}")
        if not self.fractions or any(not 0 < p <= 100 for p in self.fractions):
            raise ConfigError(f"fractions must be percentages in 1..100, got {self.fractions}")
        if not 0 < self.test_fraction < 1 or not 0 < self.val_fraction < 1:
            raise ConfigError("test_fraction and val_fraction must lie in (0, 1)")
        if not self.envelope_cutoffs_hz or any(not 0 < c < 200 for c in self.envelope_cutoffs_hz):
            raise ConfigError(f"envelope_cutoffs_hz must lie in (0, 200) Hz, got {self.envelope_cutoffs_hz}")
        if self.epochs < 1 or self.batch_size < 1 or self.chunk_frames < 8 or self.min_steps < 0:
            raise ConfigError("epochs and batch_size must be >= 1, chunk_frames >= 8, min_steps >= 0")
        if not 0 < self.tolerance_s <= 0.5:
            raise ConfigError(f"tolerance_s must lie in (0, 0.5] s, got {self.tolerance_s}")
