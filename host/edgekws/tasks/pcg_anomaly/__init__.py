"""pcg-anomaly: unsupervised heart-sound abnormality detection with beta-VAEs (issue 17).

One small dense beta-VAE per beta (the sweep includes values below 1) learns
fixed-length log-mel windows of *normal* phonocardiograms only; every test record
is scored by its reconstruction error and by two latent statistics (KL to the
prior, Mahalanobis distance under the normal training latents), and each score's
ROC AUC is reported per beta beside the published anchor (best beta < 1,
reconstruction score best, AUC 0.91 on same-source PhysioNet 2016 data). Data:
the PhysioNet/CinC 2016 layout, real or written by the shared PCG generator.
"""

from edgekws.tasks.base import Task
from edgekws.tasks.pcg.synth import generate
from edgekws.tasks.pcg_anomaly import pipeline, report
from edgekws.tasks.pcg_anomaly.config import SynthConfig, TrainConfig

TASK = Task(
    name="pcg-anomaly",
    summary="heart-sound abnormality detection trained on normal records only: beta-VAE sweep, ROC AUC per score",
    layout=("PhysioNet/CinC 2016: training-a ... training-f/ with <record>.wav (2 kHz) and REFERENCE.csv lines "
            "'a0001,-1' (-1 normal, 1 abnormal; an optional quality column)"),
    data_config=SynthConfig,
    train_config=TrainConfig,
    generate=generate,
    train=pipeline.train,
    evaluate=pipeline.evaluate,
    report=report.write,
    anchors=report.ANCHORS,
)

__all__ = ["TASK"]
