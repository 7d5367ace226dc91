"""Configs of the svd task: the two generated sets, the frame-wise CNN, pre-training, fine-tuning, scoring.

Frozen dataclasses with defaults sized for the committed run (a few minutes on two
shared cores); the CI test shrinks them with ``--set``. The resolved config is stored
in the run directory (``task.json``), so a run can be repeated from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edgekws.errors import ConfigError
from edgekws.frontend import FrontendConfig, get_preset

#: The three models of the comparison: pre-trained on speech-over-music (``pretrained``, scored on
#: singing = "before transfer"), that model fine-tuned on singing (``transfer``, "after"), and the
#: control trained on the singing set alone (``scratch``) that says whether the pre-training helped.
MODELS = ("pretrained", "transfer", "scratch")


def task_frontend() -> FrontendConfig:
    """The host-audio preset at 40 ms / 20 ms frames and 40 bands (50 frames a second).

    Why not ``audio-logmel-64`` as it is: a frame label every 20 ms is finer than any
    vocal endpoint annotation (Jamendo's are hand-set to ~0.1 s) and halves the CNN's cost;
    40 bands keep the harmonic spacing of a voice at 100-400 Hz visible in the low bands.
    Built from the preset with ``replace`` (one FrontendConfig, no second frontend).
    """
    return get_preset("audio-logmel-64").replace(name="svd-logmel-40", window_ms=40.0, hop_ms=20.0,
                                                 n_fft=1024, n_mels=40)


@dataclass(frozen=True)
class SynthConfig:
    """``edgekws task svd data``: two Jamendo-layout folders, ``pretrain/`` and ``singing/``.

    ``pretrain``: espeak-ng phrases (several voices, rates, pitches) at random places over
    synthesised accompaniment (chords, arpeggios, drums); a frame is vocal from the first to
    the last sample of a phrase above -40 dB of its peak. ``singing``: sung notes over the same
    kind of accompaniment plus a melodic lead instrument (the confusion a real detector faces);
    a note is either an espeak-ng word stretched and pitch-shifted onto the melody or a
    harmonic source with vowel formants and vibrato. Clip counts per split: train / valid / test.
    """

    pretrain_clips: tuple[int, ...] = (160, 24, 40)
    singing_clips: tuple[int, ...] = (24, 8, 40)
    clip_seconds: float = 6.0
    sample_rate: int = 16000
    voice_snr_db: tuple[float, ...] = (-3.0, 6.0)  # voice-to-accompaniment ratio drawn from this range
    espeak_note_prob: float = 0.5  # share of sung notes made from espeak-ng words (the rest: formant synthesis)
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("pretrain_clips", "singing_clips"):
            v = getattr(self, name)
            if len(v) != 3 or min(v) < 1:
                raise ConfigError(f"{name} must be three positive counts (train, valid, test), got {v}")
        if not 2.0 <= self.clip_seconds <= 30.0:
            raise ConfigError(f"clip_seconds must lie in [2, 30], got {self.clip_seconds}")
        if self.sample_rate < 16000:
            raise ConfigError(f"sample_rate must be >= 16000 (the frontend's), got {self.sample_rate}")
        if len(self.voice_snr_db) != 2 or self.voice_snr_db[0] > self.voice_snr_db[1]:
            raise ConfigError(f"voice_snr_db must be (low, high), got {self.voice_snr_db}")
        if not 0.0 <= self.espeak_note_prob <= 1.0:
            raise ConfigError(f"espeak_note_prob must lie in [0, 1], got {self.espeak_note_prob}")


@dataclass(frozen=True)
class ModelConfig:
    """The frame-wise CNN: 3x3 conv blocks pooling only along frequency (time resolution kept), then a
    temporal conv over ``context`` frames and a per-frame sigmoid."""

    channels: tuple[int, ...] = (16, 24, 32)
    context: int = 9
    hidden: int = 32
    dropout: float = 0.2

    def __post_init__(self) -> None:
        if not self.channels or min(self.channels) < 1 or self.hidden < 1:
            raise ConfigError("model.channels and model.hidden must be positive")
        if self.context < 1 or self.context % 2 == 0:
            raise ConfigError(f"model.context must be odd and positive, got {self.context}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError("model.dropout must lie in [0, 1)")


@dataclass(frozen=True)
class TrainConfig:
    """``edgekws task svd train``: where the two sets are, how long each stage trains, how posteriors are smoothed.

    ``pretrain`` / ``target``: folders in the Jamendo layout, relative to ``--data`` or absolute
    (a real Jamendo corpus can be the target). ``chunk_frames``: training excerpt length.
    ``finetune_learning_rate``: lower than from scratch so fine-tuning adapts, not overwrites.
    ``median_seconds``: the median filter over the posteriors before the 0.5 threshold.
    """

    pretrain: str = "pretrain"
    target: str = "singing"
    chunk_frames: int = 100
    pretrain_epochs: int = 12
    finetune_epochs: int = 12
    scratch_epochs: int = 12
    batch_size: int = 32
    learning_rate: float = 2e-3
    finetune_learning_rate: float = 5e-4
    median_seconds: float = 0.3
    threshold: float = 0.5
    seed: int = 0
    model: ModelConfig = field(default_factory=ModelConfig)

    def __post_init__(self) -> None:
        if self.chunk_frames < 8:
            raise ConfigError(f"chunk_frames must be at least 8, got {self.chunk_frames}")
        if min(self.pretrain_epochs, self.finetune_epochs, self.scratch_epochs, self.batch_size) < 1:
            raise ConfigError("epochs and batch_size must be at least 1")
        if not (self.learning_rate > 0 and self.finetune_learning_rate > 0):
            raise ConfigError("learning rates must be positive")
        if self.median_seconds < 0:
            raise ConfigError(f"median_seconds must be >= 0, got {self.median_seconds}")
        if not 0.0 < self.threshold < 1.0:
            raise ConfigError(f"threshold must lie in (0, 1), got {self.threshold}")
