#!/usr/bin/env python3
"""Frontend throughput: edgekws.frontend.compute_features vs librosa MFCC, clips per second.

One run over N one-second 16 kHz clips (default 2,000), same float32 input for
both, same parameters (the preset's framing, periodic Hann window, HTK mel with
no area norm, dB log with the preset's floor and no top_db, DCT-II ortho).

librosa is timed as ``melspectrogram`` -> ``power_to_db`` -> ``feature.mfcc(S=...)``:
that is exactly what ``librosa.feature.mfcc(y=...)`` runs inside, but spelled
out because ``mfcc(y=...)`` cannot pass ``norm=None`` to the mel filterbank
(its own ``norm`` argument is the DCT's) nor ``top_db=None`` to the log. Its
input is zero-padded by ``(n_fft - win_length) / 2`` per side so its frames
equal ours (librosa centres the window inside the FFT frame).

Figures: both tools on the whole batch ``[N, 16000]`` (librosa handles leading
dimensions; the headline ratio) and both called clip by clip (what a per-file
loop sees). BLAS runs single-threaded for both unless ``--threads`` says
otherwise: on a shared two-core machine idle BLAS threads spin and blur the
figures. Timing is wall clock of a single pass after a small warm-up, so
expect a few percent of run-to-run noise. Writes JSON to ``--out``.

    .venv/bin/python benchmarks/frontend.py [--clips 2000] [--preset kws-mfcc-49x10] [--out build/bench/frontend.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "host"))  # run from a checkout even without the editable install

from edgekws.frontend import FrontendConfig, compute_features, get_preset  # noqa: E402


def make_clips(n: int, sample_rate: int, seed: int = 0) -> np.ndarray:
    """Deterministic speech-like one-second clips: a harmonic tone with a syllable envelope, plus noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(sample_rate, dtype=np.float32) / sample_rate
    f0 = rng.uniform(90, 300, size=(n, 1)).astype(np.float32)
    voiced = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))
    centre = rng.uniform(0.2, 0.8, size=(n, 1)).astype(np.float32)
    envelope = np.exp(-0.5 * ((t - centre) / 0.12) ** 2)
    noise = rng.standard_normal((n, sample_rate)).astype(np.float32)
    level = rng.uniform(0.05, 0.5, size=(n, 1)).astype(np.float32)
    x = level * (0.5 * voiced * envelope + 0.02 * noise)
    return np.clip(x, -1, 1).astype(np.float32)


def librosa_mfcc(x: np.ndarray, cfg: FrontendConfig) -> np.ndarray:
    """librosa's MFCC with our parameters, returned as [..., frames, features] like ours."""
    import librosa

    lpad = (cfg.n_fft - cfg.win_length) // 2
    y = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(lpad, cfg.n_fft - cfg.win_length - lpad)])
    mel = librosa.feature.melspectrogram(
        y=y, sr=cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop_length, win_length=cfg.win_length,
        window="hann", center=False, power=2.0, n_mels=cfg.n_mels, fmin=cfg.fmin, fmax=cfg.fmax,
        htk=True, norm=None)
    db = librosa.power_to_db(mel, ref=1.0, amin=cfg.log_floor, top_db=None)
    if cfg.n_mfcc:
        db = librosa.feature.mfcc(S=db, n_mfcc=cfg.n_mfcc, dct_type=2, norm=cfg.dct_norm, lifter=0)
    return np.swapaxes(db, -1, -2)


def timed(fn) -> tuple[float, float, object]:
    """Wall and process CPU seconds of one call (CPU time is the steadier figure on a shared machine)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:  # not available on every platform
        return None


def write_json_atomic(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=2)
            fh.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=2000, help="number of one-second clips (default 2000)")
    ap.add_argument("--preset", default="kws-mfcc-49x10", help="frontend preset (default kws-mfcc-49x10)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1,
                    help="BLAS threads for both tools (default 1: steady figures on a shared machine)")
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "bench" / "frontend.json")
    args = ap.parse_args(argv)
    if args.clips < 1:
        ap.error("--clips must be at least 1")
    try:  # a dependency of scikit-learn, hence of librosa; the benchmark runs without it too
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        threads = None
    else:
        threadpool_limits(limits=args.threads)
        threads = args.threads

    import librosa
    import scipy

    cfg = get_preset(args.preset)
    clips = make_clips(args.clips, cfg.sample_rate, args.seed)
    n = len(clips)
    print(f"frontend benchmark: {n} x 1 s clips, preset {cfg.name} ({cfg.hash()}), "
          f"output {cfg.feature_shape(cfg.sample_rate)} per clip")

    # warm-up: imports, FFT plans, cached tables, both call shapes (not timed)
    warm = clips[: min(n, 64)]
    compute_features(warm, cfg), compute_features(warm[0], cfg)
    librosa_mfcc(warm, cfg), librosa_mfcc(warm[0], cfg)

    load_before = load_average()
    phases = {
        "edgekws_batch": lambda: compute_features(clips, cfg),
        "librosa_batch": lambda: librosa_mfcc(clips, cfg),
        "edgekws_per_clip": lambda: [compute_features(c, cfg) for c in clips],
        "librosa_per_clip": lambda: [librosa_mfcc(c, cfg) for c in clips],
    }
    results: dict[str, object] = {}
    doc: dict[str, object] = {}
    for key, fn in phases.items():
        wall, cpu, results[key] = timed(fn)
        doc[f"{key}_s"], doc[f"{key}_cpu_s"], doc[f"{key}_clips_per_s"] = wall, cpu, n / wall
        tool, mode = key.split("_", 1)
        print(f"  {tool:8s} {mode.replace('_', '-'):9s} {wall:8.3f} s wall {cpu:8.3f} s cpu "
              f"{n / wall:10.1f} clips/s")
    load_after = load_average()

    ours = np.asarray(results["edgekws_batch"], np.float64)
    ref = np.asarray(results["librosa_batch"], np.float64)
    max_diff = float(np.abs(ours - ref).max())
    doc = {
        "benchmark": "frontend",
        "clips": n,
        "clip_seconds": 1.0,
        "preset": cfg.name,
        "frontend": cfg.to_dict(),
        "frontend_hash": cfg.hash(),
        "feature_shape": list(cfg.feature_shape(cfg.sample_rate)),
        **doc,
        "speedup_batch": doc["librosa_batch_s"] / doc["edgekws_batch_s"],
        "speedup_per_clip": doc["librosa_per_clip_s"] / doc["edgekws_per_clip_s"],
        "speedup_batch_cpu": doc["librosa_batch_cpu_s"] / max(doc["edgekws_batch_cpu_s"], 1e-9),
        "speedup_per_clip_cpu": doc["librosa_per_clip_cpu_s"] / max(doc["edgekws_per_clip_cpu_s"], 1e-9),
        "max_abs_diff": max_diff,
        "runs": 1,
        "blas_threads": threads,
        "load_average_before": load_before,
        "load_average_after": load_after,
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "scipy": scipy.__version__, "librosa": librosa.__version__},
        "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                    "cpu_count": os.cpu_count()},
    }
    print(f"speed-up vs librosa: {doc['speedup_batch']:.1f}x on the batch, "
          f"{doc['speedup_per_clip']:.1f}x clip by clip (CPU time: {doc['speedup_batch_cpu']:.1f}x, "
          f"{doc['speedup_per_clip_cpu']:.1f}x); max |edgekws - librosa| = {max_diff:.2e}")
    if load_before and load_before[0] > (os.cpu_count() or 1):
        print(f"note: load average {load_before[0]} on {os.cpu_count()} CPUs: wall times include waiting")
    print(f"BLAS threads: {threads if threads is not None else 'library default'}")
    write_json_atomic(args.out, doc)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
