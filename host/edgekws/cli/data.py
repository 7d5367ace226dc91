"""CLI commands of the 'data' area: fetch Speech Commands, synthesise a dataset, summarise one.

A thin layer: each command parses options, shows a rich progress bar on
stderr and calls one library function from :mod:`edgekws.data`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

_err = Console(stderr=True)


@contextmanager
def _bar(description: str, *, bytes_mode: bool = False) -> Iterator:
    """A progress bar on stderr; yields ``update(done, total)`` for the library's callbacks.

    The bar appears on the first update only, so input errors found before any
    work starts print just their one ``error:`` line.
    """
    columns = [TextColumn("{task.description}"), BarColumn()]
    if bytes_mode:
        columns += [DownloadColumn(), TransferSpeedColumn()]
    else:
        columns += [MofNCompleteColumn()]
    columns += [TimeElapsedColumn(), TimeRemainingColumn()]
    progress = Progress(*columns, console=_err, transient=False)
    task = progress.add_task(description, total=None)
    started = False

    def update(done: int, total: int | None) -> None:
        nonlocal started
        if not started:
            progress.start()
            started = True
        progress.update(task, completed=done, total=total)

    try:
        yield update
    finally:
        if started:
            progress.stop()


def speech_commands(
    out: Path = typer.Option(..., "--out", help="Destination folder for the dataset."),
    archive: Path | None = typer.Option(None, "--archive", help="A local speech_commands_v0.0X.tar.gz."),
    url: str | None = typer.Option(
        None, "--url", help="Archive URL to download (or 'v1' / 'v2' for the official TensorFlow archives)."
    ),
    download_dir: Path | None = typer.Option(None, help="Where a downloaded archive is kept (default: --out's parent)."),
    force: bool = typer.Option(False, "--force", help="Replace a non-empty --out."),
) -> None:
    """Unpack (--archive) or download and unpack (--url) the Speech Commands archive."""
    from edgekws.data.download import fetch_speech_commands
    from edgekws.data.speech_commands import scan_dataset

    with _bar("speech commands", bytes_mode=True) as update:
        root = fetch_speech_commands(out, archive=archive, url=url, download_dir=download_dir, force=force,
                                     progress=update)
    index = scan_dataset(root)
    print(f"{root}: {len(index.words)} words, {index.num_clips} clips, {len(index.noise_files)} noise files", flush=True)


def synth(
    out: Path = typer.Option(..., "--out", help="Destination folder (Speech Commands layout)."),
    per_word: int = typer.Option(200, "--per-word", help="Clips per keyword."),
    unknown_per_word: int | None = typer.Option(
        None, "--unknown-per-word", help="Clips per unknown word (default: per-word / 4)."
    ),
    seed: int = typer.Option(0, "--seed", help="Same seed, same files."),
    jobs: int = typer.Option(2, "--jobs", help="Worker processes (at most 2)."),
    noise_seconds: float = typer.Option(30.0, "--noise-seconds", help="Length of each background noise file."),
    engines: str = typer.Option("espeak", "--engines", help="TTS engines, comma separated: espeak,flite,festival,piper."),
    engine_weights: str = typer.Option("", "--engine-weights",
                                       help="Each engine's share, e.g. 2,1,1 (default espeak 2, others 1)."),
    channel: bool = typer.Option(False, "--channel/--no-channel",
                                 help="Per-clip speed/pitch/formant, microphone band/EQ and loudness variety."),
    reverb: float = typer.Option(0.0, "--reverb", help="Share of clips in a simulated room (needs --channel)."),
    noise_dir: Path | None = typer.Option(None, "--noise-dir",
                                          help="Real background recordings (a dataset's _background_noise_)."),
    unknown_words: str = typer.Option("basic", "--unknown-words",
                                      help="basic (20 words), broad (~480 common words) or a word-list file."),
    tts_cache: Path | None = typer.Option(None, "--tts-cache", help="Raw-utterance cache (default ~/.cache/edgekws/tts)."),
    force: bool = typer.Option(False, "--force", help="Regenerate into a non-empty --out."),
) -> None:
    """Write a synthetic keyword dataset spoken by offline TTS engines (espeak-ng, flite, festival)."""
    from edgekws.data.synth import make_config, synthesize_dataset

    cfg = make_config(per_word=per_word, unknown_per_word=unknown_per_word, seed=seed, engines=engines,
                      engine_weights=engine_weights, channel=channel, reverb=reverb, noise_dir=noise_dir,
                      unknown_words=unknown_words, noise_seconds=noise_seconds)
    with _bar("synth clips") as update:
        result = synthesize_dataset(out, cfg, jobs=jobs, force=force, progress=update, tts_cache=tts_cache)
    for note in result.notes:
        print(note, file=sys.stderr, flush=True)
    if result.skipped:
        print(f"{out}: already holds this dataset ({result.num_clips} clips, seed {seed}); nothing to do", flush=True)
    else:
        print(f"{out}: {result.num_clips} clips in {result.seconds:.1f} s ({result.clips_per_second:.1f} clips/s)", flush=True)


def summary(
    root: Path = typer.Argument(..., help="Dataset folder (Speech Commands layout)."),
    preset: str = typer.Option("kws-mfcc-49x10", "--preset", help="Frontend preset for the feature summary."),
    features: bool = typer.Option(True, "--features/--no-features", help="Compute (cached) features too."),
    split_source: str = typer.Option("auto", "--split-source", help="auto, lists or hash."),
    cache_dir: Path | None = typer.Option(None, "--cache-dir", help="Feature cache (default ~/.cache/edgekws)."),
    json_out: Path | None = typer.Option(None, "--json", help="Also write the summary as JSON here."),
) -> None:
    """Print class counts per split and a feature summary (shape, mean/std/min/max)."""
    from edgekws.data.speech_commands import DatasetConfig
    from edgekws.data.summary import summarize_dataset

    cfg = DatasetConfig(split_source=split_source)
    frontend_cfg = None
    if features:
        from edgekws.frontend import get_preset

        frontend_cfg = get_preset(preset)
        with _bar("features") as update:
            s = summarize_dataset(root, frontend_cfg, dataset_cfg=cfg, cache_dir=cache_dir, progress=update)
    else:
        s = summarize_dataset(root, None, dataset_cfg=cfg)
    console = Console()
    console.print(f"dataset {s.root}: {s.num_clips} clips, {s.num_noise_files} noise files, "
                  f"splits from {s.split_source}")
    table = Table(title="examples per class")
    table.add_column("class")
    for sp in s.splits:
        table.add_column(sp.split, justify="right")
    for label in s.labels:
        table.add_row(label, *[str(sp.counts[label]) for sp in s.splits])
    table.add_row("total", *[str(sp.total) for sp in s.splits])
    console.print(table)
    if features:
        ft = Table(title=f"features ({preset})")
        for col in ("split", "shape", "mean", "std", "min", "max"):
            ft.add_column(col, justify="right" if col != "split" else "left")
        for sp in s.splits:
            f = sp.features
            assert f is not None
            ft.add_row(sp.split, "x".join(map(str, f.shape)), f"{f.mean:.3f}", f"{f.std:.3f}",
                       f"{f.min:.3f}", f"{f.max:.3f}")
        console.print(ft)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        tmp = json_out.with_name(f".{json_out.name}.tmp")
        tmp.write_text(json.dumps(s.to_dict(), indent=2) + "\n", encoding="utf-8")
        tmp.replace(json_out)


def register(app: typer.Typer) -> None:
    """Add the ``data`` command group to the root app."""
    data_app = typer.Typer(help="Keyword datasets: Speech Commands, espeak-ng synthesis, summaries.",
                           no_args_is_help=True)
    data_app.command("speech-commands")(speech_commands)
    data_app.command("synth")(synth)
    data_app.command("summary")(summary)
    app.add_typer(data_app, name="data")
