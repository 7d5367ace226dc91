"""geo-tagging: multi-label audio tagging with a geospatial context vector (Geo-ATBench-like).

An audio-only CNN and a context-only MLP against three fusions of the audio with the
context vector (feature-, representation- and decision-level); metric: mAP with
bootstrap intervals, and the per-event AP of events that sound the same but belong to
different places. Data: a metadata CSV + audio/ layout (real, or written by the
generator, where the context really disambiguates confusable events).
"""

from edgekws.tasks.base import Task
from edgekws.tasks.geo_tagging import pipeline, report, synth
from edgekws.tasks.geo_tagging.config import SynthConfig, TrainConfig

TASK = Task(
    name="geo-tagging",
    summary="audio tagging with geospatial context: audio/context-only vs feature/representation/decision fusion",
    layout=("Geo-ATBench-like: metadata.csv (clip_id,split,latitude,longitude,event_<name>... 0/1,"
            "poi_<category>... for 11 POI categories) + audio/<clip_id>.wav"),
    data_config=SynthConfig,
    train_config=TrainConfig,
    generate=synth.generate,
    train=pipeline.train,
    evaluate=pipeline.evaluate,
    report=report.write,
    anchors=report.ANCHORS,
)

__all__ = ["TASK"]
