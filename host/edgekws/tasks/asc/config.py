"""Configs of the asc task: generator, CNN, augmentation, the four methods, training.

Frozen dataclasses with defaults sized for the committed benchmark (all five
subsets x four methods in a few minutes on two shared cores); the CI test shrinks
them with ``--set``. The resolved config is stored in the run directory (``task.json``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edgekws.errors import ConfigError
from edgekws.frontend import FrontendConfig, get_preset

#: The DCASE 2024 Task 1 training subsets (percent of the development training split).
SUBSETS = (5, 10, 25, 50, 100)
#: The four variants of the comparison (issue 16): plain, city-feature distillation, two curricula.
METHODS = ("baseline", "city2scene", "entropy", "ddsc")
#: TAU Urban Acoustic Scenes 2022 Mobile's scene labels (as in its meta.csv).
SCENES = ("airport", "bus", "metro", "metro_station", "park", "public_square", "shopping_mall",
          "street_pedestrian", "street_traffic", "tram")
#: Devices as meta.csv spells them (source_label): real A, B, C; simulated S1-S6. S4-S6 appear only in test.
SEEN_DEVICES = ("a", "b", "c", "s1", "s2", "s3")
UNSEEN_DEVICES = ("s4", "s5", "s6")
DEVICES = SEEN_DEVICES + UNSEEN_DEVICES
#: The cities of TAU 2022 Mobile, in the order the generator takes them.
CITIES = ("amsterdam", "barcelona", "helsinki", "lisbon", "london", "lyon", "milan", "paris", "prague",
          "stockholm", "vienna", "berlin")


def task_frontend() -> FrontendConfig:
    """The host-audio preset at 40 ms / 20 ms frames and 40 bands: 49 x 40 log-mel for a 1 s clip.

    Why not ``audio-logmel-64`` as it is: the comparison trains 20+ models (4 methods x
    5 subsets plus teachers) on two shared cores, and the CNN's cost grows with
    frames x bands; 49 x 40 is 3.2x cheaper than 98 x 64 and still resolves what the
    scenes differ in (spectral shape and its modulation at a few Hz). Built from the
    preset with ``replace`` (one FrontendConfig, no second frontend).
    """
    return get_preset("audio-logmel-64").replace(name="asc-logmel-40", window_ms=40.0, hop_ms=20.0,
                                                 n_fft=1024, n_mels=40)


@dataclass(frozen=True)
class SynthConfig:
    """The synthetic scene generator (``edgekws task asc data``): the DCASE 2024 Task 1 layout.

    Every recording *segment* (``clips_per_segment`` one-second clips from one place)
    of a training location is recorded by device A and, with probability
    ``parallel_prob``, in parallel by one other seen device (TAU 2022 Mobile is
    A-heavy the same way); every test segment comes from a location never used in
    training and is recorded by all nine devices, so per-device accuracies compare
    the same scenes. ``cities`` of the catalogue, each with ``train_locations`` +
    ``test_locations`` places.
    """

    cities: int = 6
    train_locations: int = 3
    test_locations: int = 1
    train_segments_per_scene: int = 40
    test_segments_per_scene: int = 8
    clips_per_segment: int = 2
    parallel_prob: float = 0.5
    sample_rate: int = 44100
    clip_seconds: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not 2 <= self.cities <= len(CITIES):
            raise ConfigError(f"cities must lie in 2..{len(CITIES)}, got {self.cities}")
        if self.train_locations < 1 or self.test_locations < 1:
            raise ConfigError("train_locations and test_locations must be at least 1")
        if self.train_segments_per_scene < 1 or self.test_segments_per_scene < 1 or self.clips_per_segment < 1:
            raise ConfigError("segments per scene and clips_per_segment must be at least 1")
        if not 0.0 <= self.parallel_prob <= 1.0:
            raise ConfigError(f"parallel_prob must lie in [0, 1], got {self.parallel_prob}")
        if self.sample_rate < 16000:
            raise ConfigError(f"sample_rate must be >= 16000 (the frontend's), got {self.sample_rate}")
        if not 0.5 <= self.clip_seconds <= 10.0:
            raise ConfigError(f"clip_seconds must lie in [0.5, 10], got {self.clip_seconds}")


@dataclass(frozen=True)
class ModelConfig:
    """The scene CNN: blocks of (3x3 conv, BN, ReLU) x ``convs_per_block`` then 2x2 max pooling; a 1x1 conv to
    the classes; global average pooling. Only ops the int8 exporter runs (CONV_2D, MAX_POOL_2D, AVERAGE_POOL_2D)."""

    channels: tuple[int, ...] = (16, 32, 48)
    convs_per_block: int = 1
    dropout: float = 0.2

    def __post_init__(self) -> None:
        if not self.channels or min(self.channels) < 1 or self.convs_per_block < 1:
            raise ConfigError("model.channels must be non-empty and positive; convs_per_block >= 1")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError("model.dropout must lie in [0, 1)")


@dataclass(frozen=True)
class AugmentConfig:
    """Freq-MixStyle and device impulse-response augmentation, both per training batch of an epoch.

    ``mixstyle_p``: share of clips whose per-band statistics (mean, std over time) are
    mixed with another clip's by a Beta(``mixstyle_alpha``) weight. ``dir_p``: share of
    clips filtered by a random impulse response from a bank of ``dir_bank`` synthetic
    microphone responses (drawn from ``dir_seed``, never from the generator's devices).
    """

    mixstyle_p: float = 0.7
    mixstyle_alpha: float = 0.4
    dir_p: float = 0.4
    dir_bank: int = 32
    dir_seed: int = 12345

    def __post_init__(self) -> None:
        if not (0.0 <= self.mixstyle_p <= 1.0 and 0.0 <= self.dir_p <= 1.0):
            raise ConfigError("augment.mixstyle_p and augment.dir_p must lie in [0, 1]")
        if self.mixstyle_alpha <= 0 or self.dir_bank < 1:
            raise ConfigError("augment.mixstyle_alpha must be > 0 and augment.dir_bank >= 1")


@dataclass(frozen=True)
class City2SceneConfig:
    """City2Scene: a (wider) city classifier, fine-tuned on scenes, teaches the scene CNN by distillation.

    The student's loss is ``(1 - kd_weight) * CE(scene) + kd_weight * T^2 * KL(teacher_T || student_T)``.
    """

    teacher_channels: tuple[int, ...] = (24, 48, 64)
    city_epochs: int = 15
    finetune_epochs: int = 30
    kd_weight: float = 0.5
    temperature: float = 2.0

    def __post_init__(self) -> None:
        if not self.teacher_channels or min(self.teacher_channels) < 1:
            raise ConfigError("city2scene.teacher_channels must be non-empty and positive")
        if self.city_epochs < 1 or self.finetune_epochs < 1:
            raise ConfigError("city2scene epochs must be at least 1")
        if not 0.0 <= self.kd_weight <= 1.0 or self.temperature <= 0:
            raise ConfigError("city2scene.kd_weight must lie in [0, 1] and temperature be > 0")


@dataclass(frozen=True)
class CurriculumConfig:
    """The auxiliary device classifier and the two curricula built on its posteriors.

    Entropy curriculum: clips sorted by the entropy of their (out-of-fold) device
    posterior; epoch ``e`` trains on the ``start_fraction`` most device-ambiguous clips
    growing linearly to all clips at ``pace`` x epochs. DDSC: every clip weighted each
    epoch by ``lambda(e) * invariance + (1 - lambda(e)) * progress``, ``lambda`` falling
    from 1 to 0 (cosine), weights floored at ``min_weight`` and scaled to mean 1.
    """

    device_channels: tuple[int, ...] = (8, 16, 24)
    device_epochs: int = 8
    folds: int = 2
    start_fraction: float = 0.3
    pace: float = 0.6
    min_weight: float = 0.2

    def __post_init__(self) -> None:
        if not self.device_channels or min(self.device_channels) < 1 or self.device_epochs < 1:
            raise ConfigError("curriculum.device_channels must be positive and device_epochs >= 1")
        if self.folds < 2:
            raise ConfigError("curriculum.folds must be at least 2 (posteriors are scored out of fold)")
        if not (0.0 < self.start_fraction <= 1.0 and 0.0 < self.pace <= 1.0 and 0.0 <= self.min_weight <= 1.0):
            raise ConfigError("need 0 < start_fraction <= 1, 0 < pace <= 1, 0 <= min_weight <= 1")


@dataclass(frozen=True)
class TrainConfig:
    """``edgekws task asc train``: which methods on which training subsets, how long."""

    methods: tuple[str, ...] = METHODS
    subsets: tuple[int, ...] = SUBSETS
    epochs: int = 30
    batch_size: int = 32
    learning_rate: float = 3e-3
    seed: int = 0
    model: ModelConfig = field(default_factory=ModelConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    city2scene: City2SceneConfig = field(default_factory=City2SceneConfig)
    curriculum: CurriculumConfig = field(default_factory=CurriculumConfig)

    def __post_init__(self) -> None:
        bad = [m for m in self.methods if m not in METHODS]
        if bad or not self.methods:
            raise ConfigError(f"unknown method(s) {', '.join(bad) or '(none given)'}; valid: {', '.join(METHODS)}")
        bad_s = [str(s) for s in self.subsets if s not in SUBSETS]
        if bad_s or not self.subsets:
            raise ConfigError(f"unknown subset(s) {', '.join(bad_s) or '(none given)'}; valid: "
                              f"{', '.join(map(str, SUBSETS))}")
        if self.epochs < 1 or self.batch_size < 1 or not self.learning_rate > 0:
            raise ConfigError("epochs, batch_size and learning_rate must be positive")
