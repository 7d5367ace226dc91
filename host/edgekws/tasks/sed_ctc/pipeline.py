"""Train and evaluate sed-ctc: tagging-ctc's composed clips and CRNNs, scored on the events they detect.

Training is tagging-ctc's (same composition, same models, same run-directory files),
so a sed-ctc run differs only in its config (the :class:`~edgekws.tasks.sed_ctc.config.DetectConfig`)
and in what evaluation asks of the models. It also writes the test clips' strong
labels as ``test_events.tsv`` (DCASE's ``filename onset offset event_label`` lists), the
ground truth the CTC model never saw: it trained on the label order only.

Evaluation rebuilds the exact test clips, runs every variant and turns its frame
outputs into events (:mod:`~edgekws.tasks.sed_ctc.detect`): a CTC head with the
clustering stage (``<variant>+clusters``) and without it (``<variant>+spikes``, the
ablation), a pooled head by thresholding its frame probabilities (``<variant>+threshold``,
the weakly labelled baseline), and one diagnostic: the clustering stage fed a spike
at every true event's centre (``oracle-spikes+clusters``; it reads the test labels,
so it is no system, but it tells the clustering's errors from the spikes'). Every method's events go to ``events/<method>.tsv``;
``metrics.json`` has the segment-based scores; ``example.npz`` keeps the first test
clip's features and frame outputs for the report's plot.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgekws.tasks.base import ProgressFn, no_progress
from edgekws.tasks.configs import from_dict
from edgekws.tasks.runner import RUN_INFO, read_json
from edgekws.tasks.sed_ctc import detect
from edgekws.tasks.sed_ctc.config import SedTrainConfig
from edgekws.tasks.sed_ctc.metrics import Event, evaluate_events
from edgekws.tasks.tagging_ctc import dataset as ds
from edgekws.tasks.tagging_ctc import pipeline as tagging
from edgekws.tasks.tagging_ctc import real
from edgekws.tasks.tagging_ctc.config import VARIANTS

TRUTH_TSV = "test_events.tsv"
EVENTS_DIR = "events"
EXAMPLE = "example.npz"


def clip_name(i: int) -> str:
    """The name a test clip has in the event lists (it is composed in memory, never written as a file)."""
    return f"test_{i:05d}.wav"


def write_events_tsv(path: Path, clips: list[list[Event]]) -> Path:
    """DCASE event list: ``filename<TAB>onset<TAB>offset<TAB>event_label``, seconds, one event a line."""
    lines = ["filename\tonset\toffset\tevent_label"]
    for i, events in enumerate(clips):
        lines += [f"{clip_name(i)}\t{e.onset:.3f}\t{e.offset:.3f}\t{e.label}" for e in events]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def strong_labels(clips: list[list[ds.Placement]], classes: tuple[str, ...] | list[str],
                  sample_rate: int) -> list[list[Event]]:
    """The composed clips' events in seconds: exact, from where the composer put each event."""
    return [[Event(classes[p.label], p.onset / sample_rate, p.offset / sample_rate) for p in c] for c in clips]


def train(data: Path, run: Path, cfg: SedTrainConfig, progress: ProgressFn = no_progress) -> dict[str, Any]:
    """tagging-ctc's training on the same composition, plus the test split's strong labels as a TSV."""
    summary = tagging.train(data, run, cfg, progress)
    comp = read_json(run / tagging.COMPOSITION, "composed splits")
    rate = int(read_json(run / tagging.FRONTEND, "frontend config")["sample_rate"])
    clips = ds.placements_from_json(comp["splits"]["test"])
    write_events_tsv(run / TRUTH_TSV, strong_labels(clips, comp["classes"], rate))
    return summary


def _mean_duration(clips: list[list[Event]]) -> float | None:
    durations = [e.offset - e.onset for c in clips for e in c]
    return round(float(np.mean(durations)), 4) if durations else None


def _frame_model(model: Any) -> Any:
    """The pooled model cut before its pooling: per-frame class probabilities ``[B, T', K]``."""
    import tf_keras as keras

    return keras.Model(model.input, model.get_layer("frame_tags").output)


def evaluate(run: Path, data: Path | None = None, progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Segment-based F1/ER (sed_eval, bootstrap intervals) of every detection method on the test clips."""
    info = read_json(run / RUN_INFO, "run info")
    cfg = from_dict(SedTrainConfig, info["config"])
    split = tagging.load_test_split(run, data, cfg, progress)
    labels = list(split.classes)
    k = len(labels)
    fe = split.frontend
    timing = detect.Timing(hop_s=fe.hop_ms / 1000, win_s=fe.window_ms / 1000,
                           ratio=int(np.prod(cfg.model.time_pool)))
    refs = strong_labels(split.clips, labels, fe.sample_rate)
    feats = split.x[..., 0]
    det = cfg.detect
    found: dict[str, tuple[str, str, str, list[list[Event]]]] = {}  # name -> (variant, kind, how, events)
    example: dict[str, np.ndarray] = {"features": feats[0]}
    for variant in split.trained["variants"]:
        _, head = VARIANTS[variant]
        model = tagging.load_model(run, variant, split, cfg)
        if head == "ctc":
            post = model.predict(split.x, batch_size=64, verbose=0)
            example[f"{variant}.posteriors"] = post[0]
            found[f"{variant}+clusters"] = (variant, "ctc-clusters", "CTC spikes + clustering", [
                detect.cluster_events(p, f, k, labels, timing, det.bridge_s, det.quiet_fraction)
                for p, f in zip(post, feats, strict=True)])
            found[f"{variant}+spikes"] = (variant, "ctc-spikes", "CTC best path only (ablation)",
                                          [detect.spike_events(p, k, labels, timing) for p in post])
            if "oracle-spikes+clusters" not in found:
                found["oracle-spikes+clusters"] = ("", "diagnostic", "diagnostic (reads test labels): true event "
                                                   "centres as spikes + clustering", [
                    detect.grow_spikes(detect.oracle_spikes(r, labels, timing), f, labels, timing, det.bridge_s,
                                       det.quiet_fraction) for r, f in zip(refs, feats, strict=True)])
        else:
            probs = _frame_model(model).predict(split.x, batch_size=64, verbose=0)
            example[f"{variant}.frame_probs"] = probs[0]
            found[f"{variant}+threshold"] = (variant, "weak", f"weak labels: frame probabilities > {det.threshold:g}",
                                             [detect.weak_events(p, labels, timing, det.threshold, det.median_frames)
                                              for p in probs])
        progress("detecting", len(found), None)
    length = cfg.compose.clip_seconds
    methods: dict[str, Any] = {}
    for name, (variant, kind, how, ests) in found.items():
        write_events_tsv(run / EVENTS_DIR / f"{name}.tsv", ests)
        methods[name] = {"variant": variant, "kind": kind, "method": how,
                         "events": sum(len(e) for e in ests), "mean_event_s": _mean_duration(ests),
                         "segments": {f"{res:g}": evaluate_events(refs, ests, labels, res, length, seed=cfg.seed)
                                      for res in det.segments_s},
                         "example": [e.__dict__ for e in ests[0]]}
    np.savez_compressed(run / EXAMPLE, **example)
    return {"data": str(split.data), "generated": (split.data / "synth_truth.json").is_file(),
            "real_one_shots": (split.data / real.SOURCES).is_file(), "classes": labels,
            "n_test": len(refs), "ref_events": sum(len(r) for r in refs), "ref_mean_event_s": _mean_duration(refs),
            "clip_seconds": length,
            "headline_segment_s": det.segments_s[0], "timing": timing.__dict__,
            "example_truth": [e.__dict__ for e in refs[0]], "methods": methods,
            "params": {v: split.trained["variants"][v]["params"] for v in split.trained["variants"]}}
