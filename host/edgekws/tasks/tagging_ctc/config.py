"""Configs of the tagging-ctc task: generator, sequence composition, model, training.

Frozen dataclasses with defaults sized for a run of a few minutes on two cores;
``edgekws task tagging-ctc train --set compose.n_train=2000`` etc. scales them.
The resolved config is stored in the run directory (``task.json``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edgekws.errors import ConfigError
from edgekws.frontend import FrontendConfig, get_preset

#: Every model variant: (name, gated linear units?, clip-level head).
VARIANTS: dict[str, tuple[bool, str]] = {
    "crnn-ctc": (False, "ctc"),
    "crnn-gmp": (False, "gmp"),
    "crnn-gap": (False, "gap"),
    "glu-ctc": (True, "ctc"),
    "glu-gmp": (True, "gmp"),
    "glu-gap": (True, "gap"),
}


def task_frontend() -> FrontendConfig:
    """The host-audio preset at 20 ms hops and 40 bands.

    Why not ``audio-logmel-64`` as it is: sequences of several events make clips of
    seconds, and the CRNN's cost grows with frames x bands; 20 ms / 40 bands is 3.2x
    cheaper on the two-core CI machine and still resolves the events (>= 0.2 s each).
    Built from the preset with ``replace`` (one FrontendConfig, no second frontend).
    """
    return get_preset("audio-logmel-64").replace(name="tagging-logmel-40", window_ms=40.0, hop_ms=20.0,
                                                 n_fft=1024, n_mels=40)


@dataclass(frozen=True)
class SynthConfig:
    """The synthetic event generator (``edgekws task tagging-ctc data``): FSDKaggle2018 layout.

    ``classes`` picks that many classes from the catalogue (tonal, noisy, impulsive,
    chirps, modulated; ``speech`` adds espeak-ng words). Files are written at
    ``sample_rate`` (FSDKaggle2018: 44.1 kHz, 16-bit mono) with zero padding around the event.
    """

    classes: int = 8
    train_per_class: int = 40
    test_per_class: int = 12
    sample_rate: int = 44100
    min_event_s: float = 0.25
    max_event_s: float = 0.8
    max_pad_s: float = 0.2
    speech: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if self.classes < 2:
            raise ConfigError(f"classes must be at least 2, got {self.classes}")
        if self.train_per_class < 2 or self.test_per_class < 1:
            raise ConfigError("need train_per_class >= 2 and test_per_class >= 1")
        if not 0.05 <= self.min_event_s <= self.max_event_s:
            raise ConfigError(f"need 0.05 <= min_event_s <= max_event_s, got {self.min_event_s}, {self.max_event_s}")
        if self.sample_rate < 16000:
            raise ConfigError(f"sample_rate must be >= 16000 (the frontend's), got {self.sample_rate}")
        if self.max_pad_s < 0:
            raise ConfigError("max_pad_s must be >= 0")


@dataclass(frozen=True)
class ComposeConfig:
    """How clips with ordered label sequences are composed from single-event files.

    Each clip holds ``min_events``..``max_events`` events, never the same class twice
    in a row, separated by ``gap_min_s``..``gap_max_s`` of background noise at
    ``noise_dbfs``; each event is cut to its non-silent span and to at most
    ``max_event_s``, with a gain of ``-gain_range_db``..0 dB. Events of a split's clips
    come only from that split's files. Without FSDKaggle2018's test CSV the test
    files are ``test_fraction`` of train.csv.
    """

    clip_seconds: float = 4.0
    min_events: int = 2
    max_events: int = 4
    max_event_s: float = 0.7
    gap_min_s: float = 0.05
    gap_max_s: float = 0.2
    noise_dbfs: float = -50.0
    gain_range_db: float = 6.0
    n_train: int = 400
    n_val: int = 100
    n_test: int = 200
    val_fraction: float = 0.15
    test_fraction: float = 0.2
    seed: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.min_events <= self.max_events:
            raise ConfigError(f"need 1 <= min_events <= max_events, got {self.min_events}, {self.max_events}")
        if not 0 <= self.gap_min_s <= self.gap_max_s:
            raise ConfigError("need 0 <= gap_min_s <= gap_max_s")
        need = self.max_events * (self.max_event_s + self.gap_max_s) + self.gap_max_s
        if need > self.clip_seconds + 1e-9:
            raise ConfigError(f"clip_seconds={self.clip_seconds:g} cannot hold {self.max_events} events of "
                              f"{self.max_event_s:g} s with gaps up to {self.gap_max_s:g} s (need {need:g} s)")
        if min(self.n_train, self.n_val, self.n_test) < 1:
            raise ConfigError("n_train, n_val and n_test must be at least 1")
        if not (0 < self.val_fraction < 1 and 0 < self.test_fraction < 1):
            raise ConfigError("val_fraction and test_fraction must lie in (0, 1)")


@dataclass(frozen=True)
class ModelConfig:
    """The CRNN shared by every variant: conv blocks (3x3, BN, ReLU or GLU, pooling), a BiGRU, a frame head.

    ``time_pool[i]``/``freq_pool[i]`` pool after block i. The variants differ only in
    the gate (GLU doubles a block's conv outputs and multiplies one half by the sigmoid
    of the other) and in the head, so a comparison measures the head, not the size.
    """

    channels: tuple[int, ...] = (16, 32, 32)
    time_pool: tuple[int, ...] = (2, 2, 1)
    freq_pool: tuple[int, ...] = (2, 2, 2)
    rnn_units: int = 32
    dropout: float = 0.1

    def __post_init__(self) -> None:
        if not (len(self.channels) == len(self.time_pool) == len(self.freq_pool)) or not self.channels:
            raise ConfigError("model.channels, time_pool and freq_pool need the same non-zero length")
        if min(self.channels) < 1 or min(self.time_pool) < 1 or min(self.freq_pool) < 1 or self.rnn_units < 1:
            raise ConfigError("model sizes and pools must be positive")


@dataclass(frozen=True)
class TrainConfig:
    """``edgekws task tagging-ctc train``: which variants, how long, on what composition."""

    variants: tuple[str, ...] = tuple(VARIANTS)
    epochs: int = 20
    batch_size: int = 32
    learning_rate: float = 2e-3
    seed: int = 0
    compose: ComposeConfig = field(default_factory=ComposeConfig)
    model: ModelConfig = field(default_factory=ModelConfig)

    def __post_init__(self) -> None:
        bad = [v for v in self.variants if v not in VARIANTS]
        if bad or not self.variants:
            raise ConfigError(f"unknown variant(s) {', '.join(bad) or '(none given)'}; valid: {', '.join(VARIANTS)}")
        if self.epochs < 1 or self.batch_size < 1 or not self.learning_rate > 0:
            raise ConfigError("epochs, batch_size and learning_rate must be positive")
