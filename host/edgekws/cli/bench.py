"""CLI commands of the 'bench' area: ``edgekws bench`` (also ``tools/bench.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from edgekws.metrics import format_accuracy


def _print_summary(figures: dict[str, Any], mode: str) -> None:
    """A short human summary; the full figures are in --out / --jsonl."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    unit = figures.get("counter_unit", "?")
    head = (f"{figures.get('board', '?')} | firmware {figures.get('firmware', {}).get('version', '?')} | "
            f"clock {figures.get('clock_hz', 0) / 1e6:g} MHz | counter unit: {unit}")
    console.print(head)
    s = figures.get(mode, {})
    if mode == "latency" and s.get("runs"):
        t = Table(title=f"latency over {s['runs']} warm runs ({unit})")
        for col in ("layer", "op", "backend", "min", "median", "max", "share"):
            t.add_column(col, justify="right" if col in ("min", "median", "max", "share") else "left")
        for r in s.get("layers", []):
            t.add_row(str(r.get("name", r["index"])), str(r.get("op", "")), str(r.get("backend", "")),
                      f"{r['min']:.0f}", f"{r['median']:.0f}", f"{r['max']:.0f}", f"{100 * r['share']:.1f}%")
        f = s["frame"]
        t.add_row("frame", "", "", f"{f['min']:.0f}", f"{f['median']:.0f}", f"{f['max']:.0f}", "")
        console.print(t)
        if "frame_ms" in s:
            console.print(f"frame: {s['frame_ms']['median']:.3f} ms median")
        if "frame_ms_estimate_at_216mhz_1ipc" in s:
            console.print(f"frame: {s['frame_ms_estimate_at_216mhz_1ipc']['median']:.3f} ms at 216 MHz "
                          "(estimate from instructions, 1 instruction/cycle)")
    elif mode == "accuracy" and s.get("items"):
        console.print(f"{s['items']} items: device accuracy {format_accuracy(s['device_accuracy'], s['items'])} "
                      f"(TFLite Micro {format_accuracy(s['tflm_accuracy'], s['items'])}), bit-exact agreement with TFLite Micro "
                      f"{100 * s['bit_exact_agreement']:.2f}% ({s['bit_exact_items']}/{s['items']} outputs)")
        lc = s.get("layer_check") or {}
        if lc.get("items_checked"):
            lo, hi = lc["exact_ci95"]
            console.print(f"layer by layer: {lc['exact_items']}/{lc['items_checked']} clips bit-exact with TFLite Micro "
                          f"at all {lc['layers']} layers, logits and output (95% CI {100 * lo:.1f}-{100 * hi:.1f}%)")
            for row in lc["first_mismatch"]:
                console.print(f"  first mismatch at layer {row['layer']} {row.get('name', '')} {row.get('op', '')} "
                              f"backend={row.get('backend', '?')} ({row['what']}): {row['items']} clip(s)")
        if lc.get("items_not_checked"):
            console.print(f"[yellow]{lc['items_not_checked']} item(s) were not checked layer by layer "
                          "(logged before the layer check)[/yellow]")
    elif mode == "audio" and s.get("items"):
        console.print(f"{s['items']} clips: device accuracy {format_accuracy(s['device_accuracy'], s['items'])}, decisions equal "
                      f"to the host pipeline {100 * s['decision_agreement_with_host']:.2f}%, frontend median "
                      f"{s['frontend']['median']:.0f} {s['unit']}")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""

    @app.command()
    def bench(
        port: str = typer.Option(None, "--port", help="device path or pyserial URL, e.g. /dev/ttyACM0 or "
                                 "socket://127.0.0.1:4321"),
        baud: int = typer.Option(115200, "--baud", help="UART baud rate (ignored by sockets)"),
        bundle: Path = typer.Option(Path("models/default"), "--bundle", help="model bundle directory"),
        mode: str = typer.Option("latency", "--mode", help="latency | accuracy | audio"),
        runs: int = typer.Option(20, "--runs", help="warm runs in latency mode"),
        warmup: int = typer.Option(1, "--warmup", help="unrecorded inferences before latency runs"),
        limit: int = typer.Option(None, "--limit", help="at most this many test items (accuracy/audio)"),
        out: Path = typer.Option(None, "--out", help="report.json to merge the figures into (atomic)"),
        jsonl: Path = typer.Option(None, "--jsonl", help="append per-item results here as they arrive"),
        resume: bool = typer.Option(False, "--resume", help="skip items already in --jsonl"),
        emulate: bool = typer.Option(False, "--emulate", help="build if needed and run in QEMU (mps2_an500)"),
        build_dir: Path = typer.Option(None, "--build-dir", help="firmware build directory for --emulate"),
        timeout: float = typer.Option(5.0, "--timeout", help="seconds per reply before a retry"),
        retries: int = typer.Option(3, "--retries", help="re-sends per request before giving up"),
        progress: bool = typer.Option(True, "--progress/--no-progress", help="show a progress bar"),
    ) -> None:
        """Benchmark a model on a board or the emulator: latency, on-device accuracy, audio."""
        from edgekws.bench import BenchConfig, run_bench

        cfg = BenchConfig(bundle=bundle, mode=mode, port=port, baud=baud, runs=runs, warmup=warmup, limit=limit,
                          out=out, jsonl=jsonl, resume=resume, emulate=emulate, build_dir=build_dir,
                          timeout=timeout, retries=retries, progress=progress)
        figures = run_bench(cfg, note=lambda msg: typer.echo(msg, err=True))
        _print_summary(figures, mode)
