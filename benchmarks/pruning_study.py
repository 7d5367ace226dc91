"""The pruning-and-quantization study on the emulated Cortex-M7.

For each model (DS-CNN-S, the paper's CNN) and each pruning point (granularity x
sparsity) it trains/prunes/quantizes a bundle, then builds the self-test
firmware once per kernel backend and reads, from QEMU ``-icount``, the exact
instructions per inference per layer, plus flash and RAM of the image and the
bundle's int8 accuracy (TFLite Micro, from report.json). The "auto" row is the
autotuner's per-layer choice (edgekws.export.autotune.fastest) over the
measured backends: layers are independent, so its total is the sum of per-layer
minima plus the fixed overhead of the measured images.

Why it runs in bounded time on 2 cores: each base model is trained once on a
small synthetic dataset, pruned variants are fine-tuned briefly, and every
stage is cached on disk (dataset, bundles, one build per bundle hash and
backend assignment), so a re-run only does what is missing.

    .venv/bin/python benchmarks/pruning_study.py [--quick] [--models ds-cnn-s]
        [--points element:50,80,90 --points filter:50,80,90 --points block:80] [--out build/bench]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "host"))

from edgekws.errors import EdgeKwsError  # noqa: E402
from edgekws.metrics import Accuracy, accuracy_drop, accuracy_from_fraction  # noqa: E402

MODELS = ("ds-cnn-s", "paper-cnn")
GRANULARITIES = ("element", "block", "nm", "kernel", "filter")
SPARSITIES = (0.5, 0.7, 0.8, 0.9)
DENSE_BACKENDS = ("ref", "simd")
SPARSE_BACKENDS = ("skipzero", "wp", "block")
# Structured pruning leaves a smaller dense model: sparse kernels have nothing to skip there.
STRUCTURED = ("filter",)
STUDY_JSON = "pruning_study.json"


@dataclass(frozen=True)
class Point:
    """One pruned variant: granularity and target sparsity (0 = the dense base model)."""

    granularity: str
    sparsity: float

    @property
    def label(self) -> str:
        if self.sparsity == 0:
            return "dense"
        if self.granularity == "nm":
            return "nm-2of4"
        return f"{self.granularity}-{round(self.sparsity * 100)}"


@dataclass
class StudyConfig:
    """Everything that decides the study's figures (saved in the JSON)."""

    models: tuple[str, ...] = MODELS
    points: tuple[Point, ...] = ()
    backends: tuple[str, ...] = (*DENSE_BACKENDS, *SPARSE_BACKENDS)
    per_word: int = 120
    data_seed: int = 0
    train_epochs: int = 40
    finetune_epochs: int = 10
    board: str = "mps2_an500"
    work: Path = REPO / "build" / "study"
    quick: bool = False
    build_auto: bool = True  # build the autotuned mix too (else its total is the sum of per-layer minima)

    def __post_init__(self) -> None:
        if not self.points:
            self.points = default_points(self.quick)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["work"] = str(self.work)
        d["points"] = [asdict(p) for p in self.points]
        return d


def default_points(quick: bool = False) -> tuple[Point, ...]:
    """The full grid (every granularity at 50/70/80/90 %, N:M at its fixed 2:4) or the quick one."""
    if quick:
        return (Point("element", 0.8), Point("filter", 0.5))
    pts = [Point(g, s) for g in GRANULARITIES if g != "nm" for s in SPARSITIES]
    return (*pts, Point("nm", 0.5))


def parse_points(specs: Sequence[str]) -> tuple[Point, ...]:
    """``element:50,80,90`` (percent) -> points; one-line errors for bad input."""
    out: list[Point] = []
    for spec in specs:
        gran, _, levels = spec.partition(":")
        if gran not in GRANULARITIES:
            raise SystemExit(f"error: unknown granularity {gran!r} in --points (use {', '.join(GRANULARITIES)})")
        if gran == "nm":
            out.append(Point("nm", 0.5))
            continue
        try:
            values = [float(v) / 100 for v in levels.split(",") if v]
        except ValueError:
            raise SystemExit(f"error: --points {spec!r}: sparsities are percentages like 50,80,90") from None
        if not values or not all(0 < v < 1 for v in values):
            raise SystemExit(f"error: --points {spec!r}: give sparsities between 1 and 99 percent")
        out += [Point(gran, v) for v in values]
    return tuple(dict.fromkeys(out))


# ----------------------------------------------------------------------------- stages (all cached)


def ensure_data(cfg: StudyConfig) -> Path:
    """The synthetic dataset (espeak-ng), made once per (per_word, seed)."""
    from edgekws.data.synth import SynthConfig, synthesize_dataset

    root = cfg.work / f"data-pw{cfg.per_word}-s{cfg.data_seed}"
    if not (root / "synth_config.json").is_file():
        synthesize_dataset(root, SynthConfig(per_word=cfg.per_word, seed=cfg.data_seed))
    return root


def model_dir(cfg: StudyConfig, model: str) -> Path:
    return cfg.work / "bundles" / f"{model}-pw{cfg.per_word}-s{cfg.data_seed}-e{cfg.train_epochs}"


def ensure_dense(cfg: StudyConfig, model: str, data_root: Path) -> Path:
    """Train the base model once and write its bundle (skipped when the bundle exists)."""
    from edgekws.compress.pipeline import train_to_bundle
    from edgekws.train.recipe import load_recipe

    out = model_dir(cfg, model) / "dense"
    if not (out / "bundle.json").is_file():
        train_to_bundle(load_recipe(model), data_root, out, epochs=cfg.train_epochs, progress=False, onnx=False)
    return out


def ensure_pruned(cfg: StudyConfig, dense: Path, point: Point, data: Any) -> Path:
    """Prune the base bundle at ``point`` and fine-tune briefly (skipped when the bundle exists)."""
    from edgekws.compress.pipeline import prune_to_bundle
    from edgekws.compress.prune import PruneConfig

    out = dense.parent / f"{point.label}-ft{cfg.finetune_epochs}"
    if not (out / "bundle.json").is_file():
        pc = PruneConfig(point.granularity, point.sparsity, epochs=cfg.finetune_epochs)
        prune_to_bundle(dense, out, pc, data=data, progress=False, onnx=False)
    return out


def backends_for(cfg: StudyConfig, point: Point) -> list[str]:
    """Backends measured at a point: dense ones always, sparse ones where there are zeros to skip."""
    from edgekws.export import kernels

    wanted = list(cfg.backends)
    if "cmsisnn" not in wanted and any(b == "cmsisnn" for (_, b) in kernels.REGISTRY):
        wanted.append("cmsisnn")  # CMSIS-NN configured (EDGEKWS_CMSISNN_DIR): always compare with it
    if point.sparsity == 0 or point.granularity in STRUCTURED:
        wanted = [b for b in wanted if b not in SPARSE_BACKENDS]
    return wanted


def measure_point(cfg: StudyConfig, model: str, bundle_dir: Path, point: Point) -> list[dict[str, Any]]:
    """One row per backend (uniform assignment) plus the autotuned per-layer choice."""
    from edgekws.export.autotune import (
        bundle_layers,
        candidate_backends,
        fastest,
        measure,
        uniform_assignment,
    )
    from edgekws.export.bundle import load_bundle

    bundle = load_bundle(bundle_dir)
    rep = bundle.report
    layers = bundle_layers(bundle_dir)
    cands = candidate_backends(layers)
    acc = rep.get("accuracy", {})
    size = rep.get("size", {})
    base = {"model": model, "granularity": point.granularity if point.sparsity else "none",
            "target_sparsity": point.sparsity, "point": point.label,
            "sparsity": size.get("sparsity"), "accuracy_int8": acc.get("int8"), "accuracy_float": acc.get("float"),
            "n_test": acc.get("n_test"), "macs": size.get("macs"), "nonzero_weights": size.get("nonzero_weights"),
            "bundle": str(bundle_dir), "bundle_hash": bundle.bundle_hash}
    work = cfg.work / "builds"
    rows, table = [], {}
    for backend in backends_for(cfg, point):
        if backend not in cands:
            continue
        m = measure(bundle_dir, uniform_assignment(layers, backend), work, board=cfg.board)
        table[backend] = m
        rows.append({**base, "backend": backend, "assignment": m.backends, "total": m.total,
                     "layer_counts": m.layer_counts, "passed": m.passed, "flash_bytes": m.flash_bytes,
                     "ram_bytes": m.ram_bytes, "arena_bytes": m.arena_bytes, "unit": m.unit})
    # An image whose self-test failed computed something else than TFLite Micro: its counts are not figures
    # of this model, so the autotuner never picks from it (the row stays in the JSON, marked passed=false).
    table = {b: m for b, m in table.items() if m.passed}
    if table:
        chosen, per_layer = fastest(layers, table)
        ref_m = next(iter(table.values()))
        overhead = (ref_m.total or 0) - sum(c or 0 for c in ref_m.layer_counts)
        counts = [row["counts"].get(row["chosen"]) for row in per_layer]
        estimate = overhead + sum(c or 0 for c in counts)
        same = next((m for m in table.values() if m.backends == chosen), None)
        if same is None and cfg.build_auto:  # a mixed assignment: build it (flash/RAM, bit-exactness)
            same = measure(bundle_dir, chosen, work, board=cfg.board)
        rows.append({**base, "backend": "auto", "assignment": chosen,
                     "total": same.total if same else estimate, "estimated_total": estimate,
                     "layer_counts": same.layer_counts if same else counts,
                     "passed": same is None or same.passed,
                     "flash_bytes": same.flash_bytes if same else None, "ram_bytes": same.ram_bytes if same else None,
                     "arena_bytes": same.arena_bytes if same else None, "unit": ref_m.unit,
                     "derived": same is None})
    names = [layer.name for layer in layers]
    ops = [layer.op for layer in layers]
    for row in rows:
        row["layer_names"], row["layer_ops"] = names, ops
    return rows


# ----------------------------------------------------------------------------- summary against the targets


def _row(rows: list[dict[str, Any]], **match: Any) -> dict[str, Any] | None:
    return next((r for r in rows if all(r.get(k) == v for k, v in match.items())), None)


def failed_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Measurements whose self-test did not pass: never valid figures (a missing verdict counts as failed)."""
    return [r for r in rows if r.get("passed") is not True]


def row_accuracy(r: dict[str, Any]) -> Accuracy | None:
    """The row's int8 accuracy with its Wilson interval (None without accuracy or test-set size)."""
    acc, n = r.get("accuracy_int8"), r.get("n_test")
    if acc is None or not n:
        return None
    return accuracy_from_fraction(float(acc), int(n))


def _sparse_layer_figures(dense_simd: dict[str, Any], r: dict[str, Any]) -> dict[str, Any]:
    """Where the gain comes from: the layers that run a sparse kernel, their speedup over the same layers
    in the dense simd model, and the whole-model bound if those layers cost nothing (Amdahl)."""
    dc, rc, asg = dense_simd.get("layer_counts") or [], r.get("layer_counts") or [], r.get("assignment") or []
    if not (len(dc) == len(rc) == len(asg)):
        return {}
    idx = [i for i, b in enumerate(asg) if b in SPARSE_BACKENDS and dc[i] and rc[i]]
    if not idx:
        return {"sparse_layers": []}
    dense_part = sum(dc[i] for i in idx)
    rest = dense_simd["total"] - dense_part
    return {"sparse_layers": [r["layer_names"][i] if r.get("layer_names") else i for i in idx],
            "sparse_layers_share_of_dense_simd": round(dense_part / dense_simd["total"], 3),
            "sparse_layers_speedup": round(dense_part / sum(rc[i] for i in idx), 2),
            "bound_if_sparse_layers_free": round(dense_simd["total"] / rest, 2) if rest > 0 else None}


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The issue's targets, per model: simd vs ref dense, and the best sparse kernel at 80 % vs dense simd."""
    out: dict[str, Any] = {}
    for model in dict.fromkeys(r["model"] for r in rows):
        # failed self-tests are listed, never compared: their counts belong to a wrong computation
        mrows = [r for r in rows if r["model"] == model and r.get("passed") is True]
        ref = _row(mrows, point="dense", backend="ref")
        simd = _row(mrows, point="dense", backend="simd")
        s: dict[str, Any] = {"failed": [f"{r['point']}/{r['backend']}" for r in failed_rows(rows)
                                        if r["model"] == model]}
        if ref and simd and simd["total"]:
            s["dense_ref"] = ref["total"]
            s["dense_simd"] = simd["total"]
            s["simd_speedup_vs_ref"] = round(ref["total"] / simd["total"], 2)
            s["simd_target_3x_met"] = ref["total"] / simd["total"] >= 3.0
            s["dense_accuracy_int8"] = simd["accuracy_int8"]
        sparse_80 = []
        for r in mrows:
            if r["target_sparsity"] == 0.8 and r["granularity"] in ("element", "block", "nm", "kernel") \
                    and r["backend"] in (*SPARSE_BACKENDS, "auto") and simd and r["total"]:
                sparse_80.append(r)
        by_point: dict[str, dict[str, Any]] = {}
        for r in sparse_80:
            best = by_point.get(r["point"])
            if best is None or r["total"] < best["total"]:
                by_point[r["point"]] = r
        s["at_80"] = {}
        for label, r in by_point.items():
            speedup = simd["total"] / r["total"]
            drop = (simd["accuracy_int8"] - r["accuracy_int8"]) * 100 if simd["accuracy_int8"] is not None else None
            base_acc, acc = row_accuracy(simd), row_accuracy(r)
            d = accuracy_drop(base_acc, acc) if base_acc and acc else None
            s["at_80"][label] = {"best_backend": r["backend"], "total": r["total"],
                                 "speedup_vs_dense_simd": round(speedup, 2),
                                 **_sparse_layer_figures(simd, r),
                                 "accuracy_int8": r["accuracy_int8"],
                                 "accuracy_drop_points": None if drop is None else round(drop, 2),
                                 # Newcombe 95 % interval of the drop; inside it the drop is not a finding
                                 "accuracy_drop_interval_points": None if d is None else
                                 [round(d.low_points, 2), round(d.high_points, 2)],
                                 "accuracy_drop_significant": None if d is None else d.significant,
                                 "accuracy_drop_text": None if d is None else d.format(),
                                 "speed_target_1p5x_met": speedup >= 1.5,
                                 "accuracy_target_met": drop is not None and drop <= 2.0}
        out[model] = s
    return out


# ----------------------------------------------------------------------------- driver


def run_study(cfg: StudyConfig, progress: bool = True) -> dict[str, Any]:
    """Run (or resume) the study and return its document (rows, summary, config)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from edgekws.train.data import load_feature_data

    t0 = time.perf_counter()
    data_root = ensure_data(cfg)
    rows: list[dict[str, Any]] = []
    steps = len(cfg.models) * (1 + len(cfg.points))
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), disable=not progress) as bar:
        task = bar.add_task("study", total=steps)
        for model in cfg.models:
            bar.update(task, description=f"{model}: dense")
            dense = ensure_dense(cfg, model, data_root)
            rows += measure_point(cfg, model, dense, Point("none", 0.0))
            bar.advance(task)
            data = None
            for point in cfg.points:
                bar.update(task, description=f"{model}: {point.label}")
                target = dense.parent / f"{point.label}-ft{cfg.finetune_epochs}"
                if not (target / "bundle.json").is_file() and data is None:
                    from edgekws.export.bundle import load_bundle

                    meta = load_bundle(dense).meta
                    from edgekws.train.recipe import recipe_from_dict

                    rec = recipe_from_dict(meta["recipe"])
                    data = load_feature_data(data_root, meta["frontend"], input_norm=meta["input_norm"],
                                             augment=rec.train.augment, seed=rec.train.seed)
                bundle = ensure_pruned(cfg, dense, point, data)
                rows += measure_point(cfg, model, bundle, point)
                bar.advance(task)
    return {"schema": 1, "unit": "instructions", "board": cfg.board,
            "emulator": "qemu-system-arm mps2-an500 -icount (instructions, not cycles)",
            "config": cfg.to_dict(), "rows": rows, "summary": summarize(rows),
            "seconds": round(time.perf_counter() - t0, 1)}


def write_json_atomic(path: Path, doc: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    os.replace(tmp, path)


def _total_cell(r: dict[str, Any] | None) -> str:
    """A total, or FAILED for an image whose self-test failed (its count is not a figure)."""
    if r is None:
        return "-"
    if r.get("passed") is not True:
        return "FAILED"
    return str(r["total"]) if r.get("total") is not None else "-"


def print_headline(doc: dict[str, Any]) -> None:
    """Totals per point and backend, and the targets."""
    from rich.console import Console
    from rich.table import Table

    rows = doc["rows"]
    console = Console(width=max(120, Console().width))  # the table is wide; never elide figures in a log
    backends = list(dict.fromkeys(r["backend"] for r in rows))
    for model in dict.fromkeys(r["model"] for r in rows):
        t = Table(title=f"{model}: {doc['unit']} per inference ({doc['board']}, QEMU)")
        for col in ("point", "sparsity", "int8 acc % [95 % CI]", *backends, "flash (auto)", "RAM (auto)"):
            t.add_column(col, justify="right", no_wrap=True)
        for point in dict.fromkeys(r["point"] for r in rows if r["model"] == model):
            prow = [r for r in rows if r["model"] == model and r["point"] == point]
            first = prow[0]
            auto = _row(prow, backend="auto") or {}
            cells = [_total_cell(_row(prow, backend=b)) for b in backends]
            sp = first["sparsity"]
            acc = row_accuracy(first)
            t.add_row(point, f"{sp:.2f}" if isinstance(sp, float) else "-",
                      acc.cell() if acc else (f"{first['accuracy_int8'] * 100:.1f}"
                                              if first["accuracy_int8"] is not None else "-"),
                      *cells, str(auto.get("flash_bytes") or "-"), str(auto.get("ram_bytes") or "-"))
        console.print(t)
    console.print_json(json.dumps(doc["summary"]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=REPO / "build" / "bench", help="JSON and report folder")
    ap.add_argument("--work", type=Path, default=REPO / "build" / "study", help="cache: data, bundles, builds")
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    ap.add_argument("--points", action="append", default=[],
                    help="GRANULARITY:PCT[,PCT..] (repeatable), e.g. element:50,80,90; default: the full grid")
    ap.add_argument("--backends", nargs="+", default=[*DENSE_BACKENDS, *SPARSE_BACKENDS])
    # 120 clips per word (150 test clips) and 40 epochs: the smallest setting whose dense accuracy (~85 %)
    # makes accuracy drops readable; 60/20 trains in half the time but to ~68 % on 76 test clips.
    ap.add_argument("--per-word", type=int, default=120, help="synthetic clips per keyword")
    ap.add_argument("--train-epochs", type=int, default=40)
    ap.add_argument("--finetune-epochs", type=int, default=10, help="fine-tuning epochs per pruned variant "
                    "(the recipe's own is 30: closer accuracy, 3x the time)")
    ap.add_argument("--quick", action="store_true", help="a tiny configuration (tests, smoke runs)")
    ap.add_argument("--no-report", action="store_true", help="JSON only, no Markdown/HTML report")
    ap.add_argument("--no-auto-build", action="store_true",
                    help="do not build the autotuned assignment (its total is then estimated)")
    args = ap.parse_args(argv)
    if args.quick:
        args.per_word = min(args.per_word, 12)
        args.train_epochs = min(args.train_epochs, 2)
        args.finetune_epochs = min(args.finetune_epochs, 1)
    cfg = StudyConfig(models=tuple(args.models), points=parse_points(args.points), backends=tuple(args.backends),
                      per_word=args.per_word, train_epochs=args.train_epochs, finetune_epochs=args.finetune_epochs,
                      work=args.work, quick=args.quick, build_auto=not args.no_auto_build)
    try:
        doc = run_study(cfg, progress=sys.stderr.isatty())
    except EdgeKwsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = args.out / STUDY_JSON
    write_json_atomic(out, doc)
    print_headline(doc)
    print(f"saved {out}")
    if not args.no_report:
        from edgekws.report.study import write_study_report

        for path in write_study_report(doc, args.out):
            print(f"saved {path}")
    failed = failed_rows(doc["rows"])
    if failed:
        names = ", ".join(f"{r['model']} {r['point']}/{r['backend']}" for r in failed)
        print(f"error: {len(failed)} image(s) failed their self-test (marked FAILED, not tabulated as figures): "
              f"{names}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
