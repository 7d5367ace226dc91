"""CLI commands of the 'frontend' area: inspect configs, compute features for one file.

A thin layer over :mod:`edgekws.frontend` and :mod:`edgekws.audio`; every
check and every number comes from those modules.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from edgekws.errors import EdgeKwsError

CONFIG_HELP = "Preset name or a JSON file holding a FrontendConfig (or a bundle.json)."


def register(app: typer.Typer) -> None:
    """Add ``edgekws frontend ...`` to the root app."""
    sub = typer.Typer(help="The audio feature frontend: presets, configs, features of a file.",
                      no_args_is_help=True)

    @sub.command("list")
    def list_presets() -> None:
        """List the named presets with their feature shape for one second and their hash."""
        from edgekws.frontend import PRESETS

        for name, cfg in PRESETS.items():
            frames, feats = cfg.feature_shape(cfg.sample_rate)
            if cfg.kind == "tflm-micro":
                kind = f"{cfg.n_mels} TFLM microfrontend channels"
            else:
                kind = f"{cfg.n_mfcc} MFCC" if cfg.is_mfcc else f"{cfg.n_mels} log-mel"
            print(f"{name:20s} {frames}x{feats} per second  {kind}, {cfg.window_ms:g}/{cfg.hop_ms:g} ms, "
                  f"{cfg.fmin:g}-{cfg.fmax:g} Hz  hash {cfg.hash()}")

    @sub.command("show")
    def show(config: str = typer.Argument("kws-mfcc-49x10", help=CONFIG_HELP)) -> None:
        """Print a config as JSON with its hash and derived sizes."""
        from edgekws.frontend import load_config

        cfg = load_config(config)
        doc = {**cfg.to_dict(), "hash": cfg.hash(), "win_length": cfg.win_length,
               "hop_length": cfg.hop_length, "num_features": cfg.num_features,
               "frames_per_second": cfg.num_frames(cfg.sample_rate)}
        print(json.dumps(doc, indent=2))

    @sub.command("features")
    def features(
        wav: Path = typer.Argument(..., help="Audio file (WAV/FLAC, any rate, mono or stereo)."),
        preset: str = typer.Option("kws-mfcc-49x10", "--preset", "-p", help=CONFIG_HELP),
        out: Path | None = typer.Option(None, "--out", "-o", help="Save the features as .npy."),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    ) -> None:
        """Load a file, compute its features and print their shape and a summary."""
        from edgekws.audio import load_audio, validate_audio
        from edgekws.frontend import compute_features, load_config, summarize_features

        cfg = load_config(preset)
        audio = validate_audio(load_audio(wav, cfg.sample_rate), cfg, source=str(wav))
        feats = compute_features(audio, cfg)
        summary = {"file": str(wav), "samples": int(audio.size),
                   "seconds": round(audio.size / cfg.sample_rate, 4), "frontend": cfg.name,
                   "frontend_hash": cfg.hash(), **summarize_features(feats)}
        if out is not None:
            _save_npy(out, feats)
            summary["out"] = str(out)
        if as_json:
            print(json.dumps(summary, indent=2))
            return
        unit = "MFCC" if cfg.is_mfcc else "log-mel dB"
        print(f"{wav}: {summary['samples']} samples ({summary['seconds']:g} s at {cfg.sample_rate} Hz)")
        print(f"features [{feats.shape[0]} frames, {feats.shape[1]} {unit}]  "
              f"frontend {cfg.name} ({cfg.hash()})")
        print(f"min {summary['min']:.3f}  max {summary['max']:.3f}  "
              f"mean {summary['mean']:.3f}  std {summary['std']:.3f}")
        print("per-feature mean " + " ".join(f"{v:.2f}" for v in summary["per_feature_mean"]))
        if out is not None:
            print(f"wrote {out}")

    app.add_typer(sub, name="frontend")


def _save_npy(path: Path, array: object) -> None:
    """Write a .npy atomically; a folder that cannot be written is one error line."""
    from edgekws.fsutil import save_npy_atomic

    try:
        save_npy_atomic(path, array, mkdir=True)
    except OSError as exc:
        raise EdgeKwsError(f"cannot write {path}: {exc.strerror or exc}") from None
