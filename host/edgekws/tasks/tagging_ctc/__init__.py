"""tagging-ctc: audio tagging with sequentially labelled data (labels present and in order, no onsets).

CRNN and GLU-CRNN trained with CTC on the ordered label sequence, against the same
networks with global max / average pooling trained on the clip's tags; metrics are
macro tagging AUC and the order accuracy of the CTC-decoded sequence. Data: the
FSDKaggle2018 layout (real, or written by the synthetic generator).
"""

from edgekws.tasks.base import Task
from edgekws.tasks.tagging_ctc import pipeline, report, synth
from edgekws.tasks.tagging_ctc.config import SynthConfig, TrainConfig

TASK = Task(
    name="tagging-ctc",
    summary="audio tagging from sequentially labelled clips: CRNN/GLU-CRNN with CTC vs max/avg pooling",
    layout=("FSDKaggle2018: train.csv (fname,label[,manually_verified]) + audio_train/*.wav, optional "
            "test_post_competition_scoring_clips.csv (fname,label,usage) + audio_test/*.wav"),
    data_config=SynthConfig,
    train_config=TrainConfig,
    generate=synth.generate,
    train=pipeline.train,
    evaluate=pipeline.evaluate,
    report=report.write,
    anchors=report.ANCHORS,
)

__all__ = ["TASK"]
