"""asc: acoustic scene classification under device shift (DCASE 2024 Task 1 shape).

A small CNN within the challenge's limits (128 kB parameters, 30 M MACs) on the
shared frontend's log-mel, with Freq-MixStyle and device impulse-response
augmentation, trained on the 5 ... 100 % training subsets four ways: plain,
City2Scene (a city classifier's knowledge distilled into the scene model), an
entropy-guided curriculum and DDSC (both driven by an auxiliary device classifier);
scored per device, seen vs unseen. Data: the DCASE 2024 Task 1 layout (real, or
written by the synthetic generator).
"""

from edgekws.tasks.asc import pipeline, report, synth
from edgekws.tasks.asc.config import SynthConfig, TrainConfig
from edgekws.tasks.base import Task

TASK = Task(
    name="asc",
    summary="acoustic scene classification under device shift: CNN + City2Scene, entropy curriculum, DDSC",
    layout=("DCASE 2024 Task 1 (TAU Urban Acoustic Scenes 2022 Mobile): meta.csv (filename, scene_label, "
            "identifier, source_label; tab-separated) + audio/*.wav, split_setup/split{5,10,25,50,100}.csv and "
            "split_setup/test.csv"),
    data_config=SynthConfig,
    train_config=TrainConfig,
    generate=synth.generate,
    train=pipeline.train,
    evaluate=pipeline.evaluate,
    report=report.write,
    anchors=report.ANCHORS,
)

__all__ = ["TASK"]
