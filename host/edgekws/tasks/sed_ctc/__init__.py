"""sed-ctc: sound event detection from sequentially labelled data (labels in order, no onsets).

A CRNN trained with CTC on the ordered label sequence, whose peaky frame posteriors
are turned into onsets/offsets by an unsupervised clustering stage, against the same
CRNN trained on clip-level labels with global pooling, its frame probabilities
thresholded (the weakly labelled baseline). Metrics: segment-based F1 and error rate
(sed_eval). Data, composition and models are tagging-ctc's (FSDKaggle2018 layout, real
or generated), so the two tasks read the same folders.
"""

from edgekws.tasks.base import Task
from edgekws.tasks.sed_ctc import pipeline, report
from edgekws.tasks.sed_ctc.config import SedTrainConfig, SynthConfig
from edgekws.tasks.tagging_ctc import TASK as TAGGING
from edgekws.tasks.tagging_ctc import synth

TASK = Task(
    name="sed-ctc",
    summary="sound event detection from sequentially labelled clips: CTC spikes + clustering vs weak labels",
    layout=TAGGING.layout,
    data_config=SynthConfig,
    train_config=SedTrainConfig,
    generate=synth.generate,
    train=pipeline.train,
    evaluate=pipeline.evaluate,
    report=report.write,
    anchors=(),
)

__all__ = ["TASK"]
