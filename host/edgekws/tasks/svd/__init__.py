"""svd: singing-voice detection with transfer learning (speech over music -> singing over accompaniment).

A small frame-wise CNN on the shared frontend's log-mel, pre-trained on an artificial
set (espeak-ng speech mixed over synthesised music, voice-activity endpoints as frame
labels), scored on singing (before transfer), fine-tuned on a small singing set and scored
again (after), beside a control trained on the singing set alone. Posteriors are
median-filtered. Data: the Jamendo corpus layout (real, or written by the generator).
"""

from edgekws.tasks.base import Task
from edgekws.tasks.svd import pipeline, report, synth
from edgekws.tasks.svd.config import SynthConfig, TrainConfig

TASK = Task(
    name="svd",
    summary="singing-voice detection: frame CNN pre-trained on speech over music, fine-tuned on singing",
    layout=("Jamendo: audio/<song>.ogg|.wav, labels/<song>.lab ('start end sing|nosing' lines), "
            "filelists/train|valid|test; the task reads two such folders (pretrain/, singing/)"),
    data_config=SynthConfig,
    train_config=TrainConfig,
    generate=synth.generate,
    train=pipeline.train,
    evaluate=pipeline.evaluate,
    report=report.write,
    anchors=report.ANCHORS,
)

__all__ = ["TASK"]
