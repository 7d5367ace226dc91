"""f0: fundamental-frequency estimation with a pitch-salience CNN, pYIN, and the two combined.

A small fully convolutional CNN maps a harmonic CQT to per-frame salience over
240 pitch bins of 20 cents; pYIN (librosa) is the signal-processing baseline; the
combined estimator keeps the CNN's contour but lets confident pYIN frames fill its
unvoiced gaps and undo its octave errors. Two-voice mixtures are scored as multi-F0
(salience peaks) and per voice. Metrics from mir_eval plus contour flatness. Data:
the MDB-stem-synth layout (real, or written by the generator with exact F0), the
generator's two-voice mixtures, and MIR-1K's layout.
"""

from edgekws.tasks.base import Task
from edgekws.tasks.f0 import pipeline, report, synth
from edgekws.tasks.f0.config import SynthConfig, TrainConfig

TASK = Task(
    name="f0",
    summary=("F0 estimation: pitch-salience CNN (harmonic CQT), pYIN, and pYIN filling/correcting the CNN; "
             "multi-F0"),
    layout=("MDB-stem-synth: audio_stems/*.RESYN.wav + annotation_stems/*.RESYN.csv (time,f0; 0 = unvoiced), "
            "plus the generator's mixtures/*.wav + *.csv (time,f0_1,f0_2); or MIR-1K: Wavfile/*.wav (stereo, "
            "voice right) + PitchLabel/*.pv (semitones per 20 ms)"),
    data_config=SynthConfig,
    train_config=TrainConfig,
    generate=synth.generate,
    train=pipeline.train,
    evaluate=pipeline.evaluate,
    report=report.write,
    anchors=report.ANCHORS,
)

__all__ = ["TASK"]
