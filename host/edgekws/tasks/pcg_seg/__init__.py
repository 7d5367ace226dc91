"""pcg-seg: heart-sound segmentation (TopSeg): topological features + a TCN + order/duration-constrained decoding.

Per-frame persistent-homology summaries of multi-scale PCG envelopes (H0 of
sublevel/superlevel filtrations in sliding windows, H1 of delay embeddings) feed
a few-thousand-weight temporal convolutional network; its state posteriors are
decoded under the cycle S1 -> systole -> S2 -> diastole with minimum and maximum
durations. Baselines through the same network and decoder: the envelope itself
and the shared frontend's log-mel; a logistic-regression stand-in for Springer's
LR-HSMM. Scored by S1/S2 F1 within +-60 ms, at 10/25/50/100 % of the training
subjects. Data: the shared PCG layout (:mod:`edgekws.tasks.pcg`), real or generated.
"""

from edgekws.tasks.base import Task
from edgekws.tasks.pcg import synth
from edgekws.tasks.pcg.synth import PcgSynthConfig
from edgekws.tasks.pcg_seg import pipeline, report
from edgekws.tasks.pcg_seg.config import TrainConfig

TASK = Task(
    name="pcg-seg",
    summary="heart-sound segmentation: topological features + TCN + duration-constrained Viterbi (TopSeg)",
    layout=("PhysioNet/CinC 2016: training-a ... training-f folders of WAVs with REFERENCE.csv (a0001,-1), and a "
            "CirCor-style .tsv beside each WAV (start end state; 0 unannotated, 1 S1, 2 systole, 3 S2, 4 diastole)"),
    data_config=PcgSynthConfig,
    train_config=TrainConfig,
    generate=synth.generate,
    train=pipeline.train,
    evaluate=pipeline.evaluate,
    report=report.write,
    anchors=report.ANCHORS,
)

__all__ = ["TASK"]
