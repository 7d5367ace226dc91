"""Configs of the sed-ctc task: tagging-ctc's data and training, plus how frame posteriors become events.

Why extend tagging-ctc's configs instead of writing new ones: the SED task trains the
same CRNN variants on the same composed clips (the same generator, the same
FSDKaggle2018 loader, the same composition), so its train config *is* tagging-ctc's
with a :class:`DetectConfig` added. Post-processing lives in the train config because
``eval`` takes no config: the run directory's ``task.json`` then says exactly how the
figures were made.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edgekws.errors import ConfigError
from edgekws.tasks.tagging_ctc.config import VARIANTS, SynthConfig, TrainConfig

__all__ = ["DetectConfig", "SedTrainConfig", "SynthConfig"]


@dataclass(frozen=True)
class DetectConfig:
    """From frame outputs to events (onset, offset, class), and the segment grids they are scored on.

    CTC (see :mod:`edgekws.tasks.sed_ctc.detect`): ``bridge_s`` joins pieces of one event
    separated by less (impulsive classes are bursts with silence in between);
    ``quiet_fraction`` of a clip's frames, the quietest, define its background.
    Weak baseline: frame probabilities above ``threshold`` (0.5, the usual choice; not
    tuned on any labels), then a median filter over ``median_frames`` model frames.
    ``segments_s``: segment lengths of the segment-based metrics; the first is the headline
    (1 s, DCASE's usual grid), shorter ones also score the boundaries.
    """

    bridge_s: float = 0.15
    quiet_fraction: float = 0.1
    threshold: float = 0.5
    median_frames: int = 3
    segments_s: tuple[float, ...] = (1.0, 0.2)

    def __post_init__(self) -> None:
        if self.bridge_s < 0:
            raise ConfigError(f"detect.bridge_s must be >= 0, got {self.bridge_s}")
        if not 0 < self.quiet_fraction < 0.5:
            raise ConfigError(f"detect.quiet_fraction must lie in (0, 0.5), got {self.quiet_fraction}")
        if not 0 < self.threshold < 1:
            raise ConfigError(f"detect.threshold must lie in (0, 1), got {self.threshold}")
        if self.median_frames < 1 or self.median_frames % 2 == 0:
            raise ConfigError(f"detect.median_frames must be odd and >= 1, got {self.median_frames}")
        if not self.segments_s or min(self.segments_s) <= 0:
            raise ConfigError("detect.segments_s needs at least one positive segment length")


@dataclass(frozen=True)
class SedTrainConfig(TrainConfig):
    """``edgekws task sed-ctc train``: tagging-ctc's training config with the detection settings.

    Default variants: the GLU-CRNN with a CTC head against the same GLU-CRNN with global
    max and with global average pooling (the weakly labelled baselines; the two poolings
    localise differently: max pooling trains only the loudest frame of each class,
    average pooling every frame). Why GLU: on generated data the plain
    CRNN's CTC loss was still falling after 20 epochs (tagging-ctc's benchmark: order
    accuracy 23.5 % vs 98.5 % for GLU-CTC), and a CTC model that does not find the
    events cannot be judged on their boundaries. ``variants=crnn-ctc,crnn-gmp,...`` runs
    the ReLU family instead; at least one CTC and one pooled head are needed.
    """

    variants: tuple[str, ...] = ("glu-ctc", "glu-gmp", "glu-gap")
    detect: DetectConfig = field(default_factory=DetectConfig)

    def __post_init__(self) -> None:
        super().__post_init__()
        heads = {VARIANTS[v][1] for v in self.variants}
        if "ctc" not in heads or not heads - {"ctc"}:
            raise ConfigError(f"variants {','.join(self.variants)}: sed-ctc compares a CTC head with a pooled "
                              "(weak-label) head; give at least one of each, e.g. glu-ctc,glu-gmp")
