"""Which synthetic-data step makes DS-CNN-S hear real people? An ablation on a real-speech dev set.

Each variant adds one step to the one before (issue 12):

    espeak      espeak-ng only
    +flite      espeak-ng + flite (weights 2:1)
    +festival   espeak-ng + flite + festival (2:1:1)
    +channel    + per-clip speed/pitch/formant, microphone band/EQ, loudness
    +reverb     + simulated rooms on half the clips
    +unknowns   + the broad ~480-word unknown vocabulary
    +specaug    + SpecAugment masks and mixup in training (same data as +unknowns)
    all-but-unknowns  every step except the broad unknown vocabulary (a check off the chain)

Every variant keeps the same number of clips per keyword, so a gain is the
step's, not more data's. Each trains DS-CNN-S (``--epochs``), quantizes it to
int8 and is scored on ``--dev`` with TFLite Micro through ``edgekws evaluate``'s
host function: 12-class and keyword-only accuracy with 95 % Wilson intervals.
The dev set is only measured, never trained, tuned or calibrated on.

Results go to ``OUT/real_speech_ablation.json`` (after every variant, so a long
run can be stopped and resumed: finished variants are skipped) and a Markdown
table ``OUT/real_speech_ablation.md``. Raw TTS output is cached
(``~/.cache/edgekws/tts``), so variants share the synthesis cost.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/real_speech_ablation.py \\
        --dev ../shared/data/real_kws_dev --per-word 120 --epochs 20 --out benchmarks/results
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "host"))

from edgekws.errors import EdgeKwsError  # noqa: E402

VARIANTS: tuple[str, ...] = ("espeak", "+flite", "+festival", "+channel", "+reverb", "+unknowns", "+specaug")
# Off the chain: every step except one, to check a step that did not help on its own.
EXTRA: dict[str, tuple[str, ...]] = {"all-but-unknowns": tuple(v for v in VARIANTS if v != "+unknowns")}
SPECAUG: dict[str, Any] = {"time_masks": 2, "time_mask_frames": 6, "freq_masks": 2, "freq_mask_bins": 2,
                           "mixup_alpha": 0.2}


def variant_settings(name: str, per_word: int, unknown_per_word: int, seed: int,
                     noise_dir: str | None) -> tuple[Any, dict[str, Any]]:
    """(SynthConfig, TrainSpec overrides) of one variant: every step up to ``name`` switched on."""
    from edgekws.data.augment import ChannelConfig
    from edgekws.data.synth import SynthConfig, broad_unknown_words

    steps = EXTRA[name] if name in EXTRA else VARIANTS[: VARIANTS.index(name) + 1]
    engines = ("espeak",) + (("flite",) if "+flite" in steps else ()) + (("festival",) if "+festival" in steps else ())
    channel = None
    if "+channel" in steps:
        channel = ChannelConfig(reverb_probability=0.5 if "+reverb" in steps else 0.0)
    kw: dict[str, Any] = {}
    if "+unknowns" in steps:
        # same unknown-clip budget spread over many words: ~2 clips per word
        words = broad_unknown_words()
        kw = {"unknown_words": words, "unknown_per_word": max(1, round(unknown_per_word * 20 / len(words)))}
    else:
        kw = {"unknown_per_word": unknown_per_word}
    cfg = SynthConfig(per_word=per_word, seed=seed, engines=engines, channel=channel, noise_dir=noise_dir, **kw)
    train = dict(SPECAUG) if "+specaug" in steps else {}
    return cfg, train


def data_key(cfg: Any) -> str:
    """Folder name of a variant's dataset: variants with equal data share it."""
    import hashlib

    return hashlib.sha256(json.dumps(cfg.to_dict(), sort_keys=True).encode()).hexdigest()[:12]


def wilson_row(entry: dict[str, Any], key: str) -> str:
    a = entry[key]
    return f"{a['accuracy'] * 100:.1f} % [{a['ci_low'] * 100:.1f}, {a['ci_high'] * 100:.1f}]"


def markdown(results: dict[str, Any]) -> str:
    """The ablation table (one row per finished variant, in step order)."""
    meta = results["meta"]
    lines = [
        "# Real-speech ablation: synthetic data steps for DS-CNN-S",
        "",
        f"DS-CNN-S, {meta['epochs']} epochs, {meta['per_word']} clips per keyword, int8 on TFLite Micro, "
        f"scored on `{meta['dev_name']}` ({meta.get('dev_clips', '?')} real clips; evaluation only). "
        "Intervals: 95 % Wilson. Each row adds one step to the row above; one seed each, so rows "
        "closer than their intervals are not told apart. False accepts: `_silence_`/`_unknown_` clips "
        "taken for a keyword. Synth/train seconds are wall time on a shared, loaded 2-core machine; "
        "synthesis reuses cached raw TTS output, so a variant after a similar one synthesises faster.",
        "",
        "| variant | engines | train clips | synthetic test (int8) | real 12-class | real keywords | "
        "false accepts | synth s | train s |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in (*VARIANTS, *EXTRA):
        r = results["variants"].get(name)
        if r is None:
            continue
        fa = r["real"].get("false_accepts", {})
        fa_txt = f"{fa.get('rate', float('nan')) * 100:.1f} %" if isinstance(fa, dict) and "rate" in fa else "-"
        lines.append(
            f"| {name} | {','.join(r['engines'])} | {r['train_clips']} | {r['synthetic_int8'] * 100:.1f} % | "
            f"{wilson_row(r['real'], 'accuracy')} | {wilson_row(r['real'], 'keyword_accuracy')} | {fa_txt} | "
            f"{r['synth_s']:.0f} | {r['train_s']:.0f} |")
    missing = [v for v in VARIANTS if v not in results["variants"]]
    if missing:
        lines += ["", f"Not run (time): {', '.join(missing)}."]
    return "\n".join(lines) + "\n"


def run_variant(name: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Synthesise (or reuse) the variant's data, train + quantize DS-CNN-S, evaluate on the dev set."""
    from edgekws.compress.pipeline import train_to_bundle
    from edgekws.data.synth import synthesize_dataset
    from edgekws.evaluate.runner import EvalConfig, evaluate_bundle
    from edgekws.train.recipe import load_recipe

    cfg, train_over = variant_settings(name, args.per_word, args.unknown_per_word, args.seed, args.noise_dir)
    data = work / "data" / data_key(cfg)
    t = time.perf_counter()
    res = synthesize_dataset(data, cfg, jobs=args.jobs, tts_cache=args.tts_cache)
    synth_s = time.perf_counter() - t if not res.skipped else 0.0
    recipe = load_recipe(args.recipe)
    recipe = dataclasses.replace(recipe, train=dataclasses.replace(recipe.train, epochs=args.epochs, **train_over))
    bundle_dir = work / "bundles" / name.strip("+")
    t = time.perf_counter()
    bundle = train_to_bundle(recipe, data, bundle_dir, onnx=False, progress=False)
    train_s = time.perf_counter() - t
    entry = evaluate_bundle(EvalConfig(bundle=bundle_dir, data=Path(args.dev), merge=False), note=lambda s: None)
    keep = ("accuracy", "keyword_accuracy", "false_accepts", "per_class", "clips")
    return {
        "engines": list(cfg.engines), "synth_config": cfg.to_dict(), "train_overrides": train_over,
        "train_clips": int(bundle.report.get("data_sizes", {}).get("train", 0)) or _train_size(bundle_dir),
        "synthetic_int8": float(bundle.report["accuracy"]["int8"]),
        "real": {k: entry[k] for k in keep if k in entry},
        "synth_s": synth_s, "synth_clips": res.num_clips, "train_s": train_s,
    }


def _train_size(bundle_dir: Path) -> int:
    try:
        return int(json.loads((bundle_dir / "train.json").read_text())["data_sizes"]["train"])
    except (OSError, KeyError, ValueError):
        return 0


def _save(results: dict[str, Any], out: Path) -> None:
    """JSON (atomically) and the Markdown table."""
    js = out / "real_speech_ablation.json"
    tmp = js.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    tmp.replace(js)
    (out / "real_speech_ablation.md").write_text(markdown(results))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dev", type=Path, default=REPO.parent / "shared" / "data" / "real_kws_dev",
                    help="real-speech dev set (Speech Commands layout; evaluation only)")
    ap.add_argument("--noise-dir", default=None,
                    help="real background recordings for synthesis (a dataset's _background_noise_)")
    ap.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated subset, in step order")
    ap.add_argument("--per-word", type=int, default=120)
    ap.add_argument("--unknown-per-word", type=int, default=30, help="per classic unknown word (20 words)")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--recipe", default="ds-cnn-s")
    ap.add_argument("--tts-cache", default=None)
    ap.add_argument("--work", type=Path, default=REPO / "build" / "ablation")
    ap.add_argument("--out", type=Path, default=REPO / "build" / "ablation")
    ap.add_argument("--merge-from", type=Path, action="append", default=[],
                    help="another run's JSON with the same settings: its finished variants are taken over")
    args = ap.parse_args(argv)
    try:
        if not args.dev.is_dir():
            raise EdgeKwsError(f"dev set {args.dev} does not exist (see data speech-commands for the official test set)")
        wanted = [v.strip() for v in args.variants.split(",") if v.strip()]
        bad = [v for v in wanted if v not in VARIANTS and v not in EXTRA]
        if bad:
            raise EdgeKwsError(f"unknown variant(s) {', '.join(bad)} (known: {', '.join((*VARIANTS, *EXTRA))})")
        args.out.mkdir(parents=True, exist_ok=True)
        js = args.out / "real_speech_ablation.json"
        meta = {"per_word": args.per_word, "unknown_per_word": args.unknown_per_word, "epochs": args.epochs,
                "seed": args.seed, "recipe": args.recipe, "dev_name": args.dev.name, "noise_dir": args.noise_dir}
        results: dict[str, Any] = {"meta": meta, "variants": {}}
        if js.is_file():
            old = json.loads(js.read_text())
            if old.get("meta", {}) | {"dev_clips": None} == meta | {"dev_clips": None}:
                results = old
        for other in args.merge_from:
            theirs = json.loads(other.read_text())
            if theirs.get("meta", {}) | {"dev_clips": None} != meta | {"dev_clips": None}:
                raise EdgeKwsError(f"{other} was run with other settings; not merged")
            for name, r in theirs["variants"].items():
                results["variants"].setdefault(name, r)
            results["meta"]["dev_clips"] = theirs["meta"].get("dev_clips")
        if args.merge_from:
            _save(results, args.out)
        for name in wanted:
            if name in results["variants"]:
                print(f"{name}: done before, kept", flush=True)
                continue
            print(f"{name}: running", flush=True)
            r = run_variant(name, args, args.work)
            results["variants"][name] = r
            results["meta"]["dev_clips"] = r["real"].get("clips")
            _save(results, args.out)
            print(f"{name}: real {r['real']['accuracy']['accuracy'] * 100:.1f} % 12-class, "
                  f"{r['real']['keyword_accuracy']['accuracy'] * 100:.1f} % keywords "
                  f"(synth {r['synth_s']:.0f} s, train {r['train_s']:.0f} s)", flush=True)
    except EdgeKwsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
