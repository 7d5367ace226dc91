"""Configs of the f0 task: the generator, the salience CNN's input and shape, training, the estimators.

Frozen dataclasses with defaults sized for two shared cores (a few minutes for the
committed figures); the CI test shrinks them with ``--set``. The resolved config is
stored in the run directory (``task.json``), so ``eval`` rebuilds exactly the model
that ``train`` fitted.

The pitch grid is fixed, not configurable, because the model's output bins *are*
the grid: 240 bins of 20 cents from C2 (65.4 Hz) up to just below C6 (1046.5 Hz),
the range of MDB-stem-synth's melodic stems and of singing voice (MIR-1K).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edgekws.errors import ConfigError

#: Analysis rate and hop of every estimator: 16 kHz, 10 ms (mir_eval's melody grid).
SAMPLE_RATE = 16000
HOP = 160
#: Lowest pitch bin's centre (C2) and the bin width: 5 bins per semitone = 20 cents.
FMIN = 65.40639
BINS_PER_OCTAVE = 60
N_BINS = 240
#: Highest bin's centre (~1037 Hz); pYIN searches the same range.
FMAX = FMIN * 2.0 ** ((N_BINS - 1) / BINS_PER_OCTAVE)
#: The generator's MIDI note range stays a semitone inside the grid so vibrato never leaves it.
MIDI_LO, MIDI_HI = 38, 82


@dataclass(frozen=True)
class SynthConfig:
    """``edgekws task f0 data``: harmonic tones with exact F0, written in the MDB-stem-synth layout.

    ``tracks`` monophonic stems of ``seconds`` each: notes of 0.15 ... 0.8 s joined by
    glides or separated by unvoiced gaps (probability ``gap_prob``), vibrato on a share
    ``vibrato_prob`` of notes (4 ... 7 Hz, up to ``vibrato_cents`` deep), a random
    spectral envelope per stem (roll-off and two formant bumps, so the strongest
    partial is often not the fundamental), white noise at ``snr_db`` (a range).
    ``mixtures`` two-voice files (two violin-like voices, lower in MIDI 38-60, upper in
    63-82, so they never cross) with both contours.
    """

    tracks: int = 40
    mixtures: int = 16
    seconds: float = 3.0
    gap_prob: float = 0.35
    vibrato_prob: float = 0.6
    vibrato_cents: float = 60.0
    snr_db: tuple[float, float] = (15.0, 40.0)
    sample_rate: int = SAMPLE_RATE
    seed: int = 0

    def __post_init__(self) -> None:
        if self.tracks < 1 or self.mixtures < 0:
            raise ConfigError("tracks must be >= 1 and mixtures >= 0")
        if not 0.5 <= self.seconds <= 60.0:
            raise ConfigError(f"seconds must lie in [0.5, 60], got {self.seconds}")
        if not (0.0 <= self.gap_prob <= 1.0 and 0.0 <= self.vibrato_prob <= 1.0):
            raise ConfigError("gap_prob and vibrato_prob must lie in [0, 1]")
        if not 0.0 <= self.vibrato_cents <= 100.0:
            raise ConfigError("vibrato_cents must lie in [0, 100]")
        if len(self.snr_db) != 2 or self.snr_db[0] > self.snr_db[1]:
            raise ConfigError("snr_db must be a range LOW,HIGH with LOW <= HIGH")
        if self.sample_rate < 2 * 3 * FMAX:
            raise ConfigError(f"sample_rate must be >= {int(6 * FMAX)} Hz (third harmonic of the top bin)")


@dataclass(frozen=True)
class ModelConfig:
    """The salience CNN: 'same'-padded 2-D convolutions over (time, pitch bin) with the HCQT harmonics as
    input channels, ReLU, then a 1x1 convolution to one sigmoid salience per (frame, bin).

    Layer ``i`` has ``channels[i]`` filters of ``kernel_frames[i]`` x ``kernel_bins[i]`` (two flat
    lists, so ``--set model.kernel_bins=5,5,13`` works from the CLI). The last layer spans 13 bins
    (a bit over two semitones) so a peak can be placed between neighbouring bins. Time context is
    kept short (3 frames) because the CNN's cost is per (frame, bin) cell: 5 x 5 kernels doubled the
    training time on two shared cores for a few points of RPA.
    """

    channels: tuple[int, ...] = (8, 12, 12)
    kernel_frames: tuple[int, ...] = (3, 3, 1)
    kernel_bins: tuple[int, ...] = (5, 5, 13)

    def __post_init__(self) -> None:
        if not self.channels or min(self.channels) < 1:
            raise ConfigError("model.channels must be non-empty and positive")
        if not len(self.channels) == len(self.kernel_frames) == len(self.kernel_bins):
            raise ConfigError("model.channels, model.kernel_frames and model.kernel_bins need one entry per layer")
        if min(self.kernel_frames) < 1 or min(self.kernel_bins) < 1:
            raise ConfigError("model.kernel_frames and model.kernel_bins must be positive")


@dataclass(frozen=True)
class EstimatorConfig:
    """How salience and pYIN become contours.

    ``threshold``: salience below it is unvoiced (``tune_threshold`` replaces it by the
    value that maximises overall accuracy on the validation tracks). ``max_voices``:
    salience peaks kept as F0 candidates for multi-F0 input, at least
    ``min_peak_distance`` bins apart. Combined estimator: pYIN counts as confident
    when its voiced probability is >= ``pyin_confidence``; a CNN estimate within
    ``octave_tolerance`` cents of a whole number (not 0) of octaves from pYIN's is
    an octave error; the replacement is the salience peak within ``search_cents`` of
    pYIN's F0 if it reaches ``support``, else pYIN's F0 itself.
    """

    threshold: float = 0.3
    tune_threshold: bool = True
    max_voices: int = 2
    min_peak_distance: int = 5
    pyin_confidence: float = 0.5
    octave_tolerance: float = 100.0
    search_cents: float = 60.0
    support: float = 0.05
    pyin_frame_length: int = 1024

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 1.0 or not 0.0 <= self.support < 1.0:
            raise ConfigError("estimator.threshold must lie in (0, 1) and estimator.support in [0, 1)")
        if self.max_voices < 1 or self.min_peak_distance < 1:
            raise ConfigError("estimator.max_voices and estimator.min_peak_distance must be >= 1")
        if not 0.0 <= self.pyin_confidence <= 1.0:
            raise ConfigError("estimator.pyin_confidence must lie in [0, 1]")
        if not (0.0 < self.octave_tolerance < 600.0 and 0.0 < self.search_cents <= 600.0):
            raise ConfigError("estimator.octave_tolerance must lie in (0, 600) and search_cents in (0, 600]")
        if self.pyin_frame_length < 512:
            raise ConfigError("estimator.pyin_frame_length must be >= 512 (two periods of the lowest pitch)")


@dataclass(frozen=True)
class TrainConfig:
    """``edgekws task f0 train``: split, CNN, optimisation, estimators.

    Tracks (stems and mixtures alike) are split by a seeded permutation:
    ``test_fraction`` to test, ``val_fraction`` of the rest to validation (best epoch,
    threshold). The CNN trains on random ``patch_frames``-frame excerpts with binary cross-entropy
    weighted ``1 + pos_weight * target`` (:func:`edgekws.tasks.f0.models.weighted_bce`). ``real``: ``eval``
    also scores the real piano notes when set-up fetched them (:mod:`edgekws.tasks.f0.real`).
    """

    test_fraction: float = 0.25
    val_fraction: float = 0.15
    epochs: int = 20
    batch_size: int = 16
    patch_frames: int = 64
    patches_per_track: int = 6
    learning_rate: float = 2e-3
    pos_weight: float = 20.0
    real: bool = True
    seed: int = 0
    model: ModelConfig = field(default_factory=ModelConfig)
    estimator: EstimatorConfig = field(default_factory=EstimatorConfig)

    def __post_init__(self) -> None:
        if not (0.0 < self.test_fraction < 1.0 and 0.0 < self.val_fraction < 1.0):
            raise ConfigError("test_fraction and val_fraction must lie in (0, 1)")
        if self.epochs < 1 or self.batch_size < 1 or self.patch_frames < 8 or self.patches_per_track < 1:
            raise ConfigError("epochs, batch_size, patches_per_track must be >= 1 and patch_frames >= 8")
        if not self.learning_rate > 0 or self.pos_weight < 0:
            raise ConfigError("learning_rate must be positive and pos_weight >= 0")
