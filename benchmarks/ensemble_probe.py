#!/usr/bin/env python3
"""Probe: how much do real-speech models gain when their probabilities are averaged?

Why: issue 12's next teacher. If our synthetic-trained models and a model trained on real speech
by someone else (e.g. the imported MLPerf Tiny DS-CNN, `edgekws import`) make different mistakes,
their average is a better teacher for distillation than either alone. This measures each model
and every combination on a real-speech folder, used for measuring only (nothing is fitted on it).

    python benchmarks/ensemble_probe.py --data ../shared/data/real_kws_dev \
        --bundle default=models/default --bundle mltk=build/mltk-kws --teacher demo-teacher=build/demo/teacher

Bundles run int8 on TFLite Micro with their own frontend; teachers (``edgekws teacher train``
folders) run float on the host. Each combination is the argmax of the summed probabilities.

``--pair A,B`` (repeatable) compares two of the named models on the same clips: the clips only
one of them gets right and McNemar's exact p-value, 12-class and keyword-only. That is the test
for "is model A better than model B" on one dev set; two overlapping intervals are not.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "host"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from teacher_distill import _pairs  # noqa: E402  (NAME=PATH arguments, parsed as the distill study does)


def bundle_probabilities(bundle: Path, data: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Dequantised int8 outputs of every clip of ``data`` (the bundle's own clip length and frontend)."""
    from edgekws.evaluate.runner import bundle_task, host_inputs, load_clips
    from edgekws.tflm import TflmModel

    meta = json.loads((bundle / "bundle.json").read_text())
    fe, labels, samples = bundle_task(meta, bundle)
    clips = load_clips(data, "testing", labels, fe.sample_rate, samples)
    x = host_inputs(meta, fe, clips.audio)
    out = TflmModel(bundle / "model.tflite").run_batch(list(x)).reshape(len(x), -1).astype(np.float32)
    q = meta["output"]
    return (out - q["zero_point"]) * q["scale"], clips.y, labels


def teacher_probabilities(teacher: Path, data: Path, labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Softmax of the float teacher (embedding + head) on every 1-s clip of ``data``."""
    from edgekws.evaluate.runner import load_clips
    from edgekws.teacher.train import Teacher

    clips = load_clips(data, "testing", labels, 16000, 16000)
    logits = Teacher(teacher).logits(clips.audio)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    return p / p.sum(axis=1, keepdims=True), clips.y


def main(argv: list[str] | None = None) -> int:
    from edgekws.metrics import accuracy, paired_comparison

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--bundle", action="append", default=[], help="NAME=BUNDLE (int8 on TFLite Micro)")
    ap.add_argument("--teacher", action="append", default=[], help="NAME=DIR (float teacher)")
    ap.add_argument("--pair", action="append", default=[], metavar="A,B",
                    help="compare two named models on the same clips (McNemar); repeatable")
    ap.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = ap.parse_args(argv)
    pairs = [tuple(p.split(",")) for p in args.pair]
    names = [n for n, _ in _pairs(args.bundle)] + [n for n, _ in _pairs(args.teacher)]
    for pair in pairs:
        if len(pair) != 2 or any(n not in names for n in pair):
            print(f"error: --pair {','.join(pair)}: give two of the named models ({', '.join(names)}) as A,B",
                  file=sys.stderr)
            return 2
    if not args.data.is_dir():
        print(f"error: {args.data}: no such folder", file=sys.stderr)
        return 2
    probs: dict[str, np.ndarray] = {}
    y_ref: np.ndarray | None = None
    labels: list[str] | None = None
    for name, path in _pairs(args.bundle):
        p, y, lab = bundle_probabilities(path, args.data)
        if labels is not None and lab != labels:
            print(f"error: {path}: labels {lab} differ from {labels}", file=sys.stderr)
            return 2
        labels, probs[name] = lab, p
        y_ref = y if y_ref is None else y_ref
    for name, path in _pairs(args.teacher):
        if labels is None:
            print("error: give at least one --bundle first (it fixes the label order)", file=sys.stderr)
            return 2
        probs[name], y = teacher_probabilities(path, args.data, labels)
        y_ref = y if y_ref is None else y_ref
    if y_ref is None or not probs:
        print("error: nothing to measure (give --bundle/--teacher)", file=sys.stderr)
        return 2
    kw = y_ref >= 2  # labels start with _silence_, _unknown_
    rows = []
    for k in range(1, len(probs) + 1):
        for combo in itertools.combinations(probs, k):
            pred = np.argmax(sum(probs[c] for c in combo), axis=1)
            a = accuracy(int(np.sum(pred == y_ref)), len(y_ref))
            b = accuracy(int(np.sum(pred[kw] == y_ref[kw])), int(kw.sum()))
            rows.append({"models": list(combo), "accuracy": a.as_dict(), "keyword_accuracy": b.as_dict()})
            print(f"{' + '.join(combo):40s} 12-class {a.format()}   keywords {b.format()}")
    compared = []
    for a, b in pairs:
        ok_a, ok_b = np.argmax(probs[a], axis=1) == y_ref, np.argmax(probs[b], axis=1) == y_ref
        row = {"a": a, "b": b}
        for key, sel in (("all", slice(None)), ("keywords", kw)):
            t = paired_comparison(ok_a[sel], ok_b[sel])
            row[key] = {"only_a": t.only_a, "only_b": t.only_b, "mcnemar_p": t.p_value}
            print(f"{a} vs {b} ({'12-class' if key == 'all' else 'keywords'}): {t.format(a, b)}")
        compared.append(row)
    if args.out:
        args.out.write_text(json.dumps({"data": str(args.data), "rows": rows, "pairs": compared}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
