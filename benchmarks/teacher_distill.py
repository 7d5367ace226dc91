#!/usr/bin/env python3
"""Teacher and distillation ablation on a real-speech folder: a JSON and a Markdown table.

Why: every step of issue 12's teacher path (teacher head, student with and without the teacher on
the same fresh audio) must come with its real-speech figure and 95 % interval, and with the
commands that produced it. The folder is used for measuring only.

    python benchmarks/teacher_distill.py --data ../shared/data/real_kws_dev --out benchmarks/results/teacher_distill \
        --teacher NAME=DIR ... --student NAME=BUNDLE ... [--note TEXT ...] [--append]

``--append`` keeps the rows already in OUT.json (measured earlier, from folders that may be gone)
and adds the new ones; notes and commands given now replace the old ones, else they are kept.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "host"))


def _pairs(items: list[str]) -> list[tuple[str, Path]]:
    out = []
    for it in items:
        name, _, path = it.partition("=")
        if not path:
            raise SystemExit(f"error: expected NAME=PATH, got {it!r}")
        out.append((name, Path(path)))
    return out


def _cell(d: dict) -> str:
    return f"{100 * d['accuracy']:.1f} [{100 * d['ci_low']:.1f}-{100 * d['ci_high']:.1f}]"


def main(argv: list[str] | None = None) -> int:
    """Evaluate every listed teacher and student bundle on ``--data``; write OUT.json and OUT.md."""
    from edgekws.errors import EdgeKwsError
    from edgekws.teacher.train import evaluate_teacher
    from edgekws.train.distill import evaluate_bundle_int8

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True, help="output path without suffix")
    ap.add_argument("--teacher", action="append", default=[])
    ap.add_argument("--student", action="append", default=[])
    ap.add_argument("--note", action="append", default=[])
    ap.add_argument("--command", action="append", default=[], help="command lines to record")
    ap.add_argument("--append", action="store_true", help="keep the rows already in OUT.json")
    args = ap.parse_args(argv)
    rows = []
    old = args.out.with_suffix(".json")
    if args.append and old.is_file():
        prev = json.loads(old.read_text())
        rows = list(prev.get("rows", []))
        args.note = args.note or prev.get("notes", [])
        args.command = args.command or prev.get("commands", [])
    try:
        for name, p in _pairs(args.teacher):
            r = evaluate_teacher(p, args.data)
            info = json.loads((p / "teacher.json").read_text())["train"]
            rows.append({"name": name, "kind": "teacher (float, onnxruntime)", "path": str(p), "params": "328 k + head",
                         "train": info, **{k: r[k] for k in ("accuracy_12", "accuracy_keywords", "per_class_recall")}})
            print(f"{name}: {r['text']}")
        for name, p in _pairs(args.student):
            r = evaluate_bundle_int8(p, args.data)
            info = json.loads((p / "distill.json").read_text()) if (p / "distill.json").is_file() else {}
            rows.append({"name": name, "kind": "student int8 (TFLite Micro)", "path": str(p),
                         "params": info.get("params"), "train": info.get("config"),
                         **{k: r[k] for k in ("accuracy_12", "accuracy_keywords", "per_class_recall")}})
            print(f"{name}: {r['text']}")
    except EdgeKwsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    doc = {"data": args.data.resolve().name, "rows": rows, "commands": args.command, "notes": args.note}
    args.out.with_suffix(".json").write_text(json.dumps(doc, indent=2) + "\n")
    md = [f"# Teacher and distillation on `{doc['data']}` (real speech, evaluation only)", "",
          "Accuracy in % with the 95 % Wilson interval. Keyword-only: the clips of the 10 keywords.", "",
          "| model | runs as | 12-class | keyword-only | weakest keywords (recall) |", "|---|---|---|---|---|"]
    for r in rows:
        rec = {k: v for k, v in r["per_class_recall"].items() if v is not None and not k.startswith("_")}
        weak = ", ".join(f"{k} {100 * v:.0f}" for k, v in sorted(rec.items(), key=lambda kv: kv[1])[:3])
        md.append(f"| {r['name']} | {r['kind']} | {_cell(r['accuracy_12'])} | {_cell(r['accuracy_keywords'])} | {weak} |")
    if args.note:
        md += ["", *[f"- {n}" for n in args.note]]
    if args.command:
        md += ["", "Commands:", "", "```", *args.command, "```"]
    args.out.with_suffix(".md").write_text("\n".join(md) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
