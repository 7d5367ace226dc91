"""CLI of the streaming area: ``edgekws listen`` and ``edgekws stream generate|score|run``.

A thin layer over :mod:`edgekws.stream`: options become a :class:`StreamConfig`,
the work is done by library functions, results go to stdout and, with
``--out``, to JSON files written atomically.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from edgekws.errors import ConfigError

stream_app = typer.Typer(help="Streaming KWS: generate a test stream with ground truth, run the host twin, score.",
                         no_args_is_help=True)

_BUNDLE = typer.Option(..., "--bundle", "-b", help="Model bundle directory.")
_THRESHOLD = typer.Option(None, "--threshold", help="Mean smoothed probability a keyword needs (0..1].")
_K = typer.Option(None, "--k-hops", help="Run the model every K hops.")
_W = typer.Option(None, "--smooth", help="Number of model outputs averaged.")
_REFRACTORY = typer.Option(None, "--refractory-ms", help="No new detection for this long after one.")
_CONFIG = typer.Option(None, "--config", help="StreamConfig JSON file (options override it).")
_EXACT = typer.Option("auto", "--exact", help="Features: device (bit-identical to the C frontend), host, "
                      "bundle (as trained), auto (device when possible).")


def _exact(value: str) -> str | None:
    if value not in ("auto", "device", "host", "bundle"):
        raise ConfigError(f"--exact must be auto, device, host or bundle, got {value!r}")
    return None if value == "bundle" else value


def _stream_config(config: Path | None, threshold: float | None, k_hops: int | None,
                   smooth: int | None, refractory_ms: float | None):
    from edgekws.stream import StreamConfig

    base = StreamConfig()
    if config is not None:
        try:
            base = StreamConfig.from_dict(json.loads(Path(config).read_text()))
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"{config}: cannot read stream config ({str(exc).splitlines()[0]})") from None
    return base.replace(threshold=threshold, k_hops=k_hops, smooth_window=smooth, refractory_ms=refractory_ms)


def _detections_doc(dets, cfg, params, source: str, bundle: Path) -> dict:
    return {"source": source, "bundle": str(bundle), "config": cfg.to_dict(), "params": params.to_dict(),
            "detections": [d.to_dict() for d in dets]}


def listen_cmd(
    wav: Path | None = typer.Argument(None, help="WAV file to stream (omit with --mic)."),
    bundle: Path = _BUNDLE,
    threshold: float | None = _THRESHOLD,
    k_hops: int | None = _K,
    smooth: int | None = _W,
    refractory_ms: float | None = _REFRACTORY,
    config: Path | None = _CONFIG,
    mic: bool = typer.Option(False, "--mic", help="Listen to the default microphone (needs sounddevice)."),
    seconds: float | None = typer.Option(None, "--seconds", help="With --mic: stop after this long."),
    realtime: bool = typer.Option(False, "--realtime", help="Pace the file at its real duration."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Also write the detections as JSON here."),
    exact: str = _EXACT,
) -> None:
    """Spot keywords in a WAV file (or the microphone) with a bundle's int8 model, printing detections live."""
    from edgekws.stream import listen, listen_microphone, open_session
    from edgekws.stream.score import write_json_atomic

    cfg = _stream_config(config, threshold, k_hops, smooth, refractory_ms)
    if mic == (wav is not None):
        raise ConfigError("give a WAV file or --mic (one of them)")
    _say_incremental(bundle, open_session(bundle, cfg).params.k_hops)
    if mic:
        dets = listen_microphone(bundle, cfg, seconds=seconds, exact=_exact(exact))
        source = "microphone"
    else:
        dets = listen(wav, bundle, cfg, realtime=realtime, exact=_exact(exact))
        source = str(wav)
    typer.echo(f"{len(dets)} detection(s)")
    if out is not None:
        params = open_session(bundle, cfg).params
        write_json_atomic(out, _detections_doc(dets, cfg, params, source, bundle))


def _say_incremental(bundle: Path, k_hops: int) -> None:
    """One line on what a device's incremental mode would compute, for a streaming-aware model."""
    from edgekws.errors import ModelError
    from edgekws.stream.incremental import incremental_cost

    try:
        cost = incremental_cost(bundle, k_hops)
    except ModelError as exc:
        typer.echo(f"streaming-aware model, but not incrementally with k_hops {k_hops}: {exc}")
        return
    if cost is not None:
        typer.echo(f"streaming-aware model: incremental inference (edgekws stream device --incremental) computes "
                   f"{cost.incremental_macs:,} of {cost.full_window_macs:,} MACs per classification "
                   f"({100 * cost.fraction:.1f} %), outputs identical; this host run uses the full window")


@stream_app.command("generate")
def generate_cmd(
    data: Path = typer.Option(..., "--data", help="Speech Commands-style dataset root."),
    out: Path = typer.Option(..., "--out", "-o", help="Output directory (stream.wav, truth.json)."),
    seconds: float = typer.Option(60.0, "--seconds", help="Stream length."),
    seed: int = typer.Option(0, "--seed"),
    split: str = typer.Option("testing", "--split", help="Split the clips come from, or 'all'."),
    snr_db: float = typer.Option(20.0, "--snr-db", help="Speech level over the background noise."),
    distractors: float = typer.Option(0.2, "--distractors", help="Share of non-keyword words (must not fire)."),
) -> None:
    """Write a long stream of keywords over noise at known times, with its ground truth."""
    from rich.progress import Progress

    from edgekws.stream import StreamSpec, generate_stream, write_stream

    spec = StreamSpec(duration_s=seconds, seed=seed, snr_db=snr_db, distractor_share=distractors)
    with Progress(transient=True) as bar:
        task = bar.add_task("generating stream", total=1.0)
        stream = generate_stream(data, spec, split=None if split == "all" else split,
                                 progress=lambda done, total: bar.update(task, completed=done / max(1, total)))
    wav, truth = write_stream(out, stream)
    t = stream.truth
    typer.echo(f"{wav} ({t['duration_s']:.1f} s, {t['num_keywords']} keywords, {t['num_distractors']} "
               f"distractors), {truth}")


@stream_app.command("run")
def run_cmd(
    wav: Path = typer.Argument(..., help="WAV stream."),
    bundle: Path = _BUNDLE,
    out: Path = typer.Option(..., "--out", "-o", help="Detections JSON."),
    threshold: float | None = _THRESHOLD,
    k_hops: int | None = _K,
    smooth: int | None = _W,
    refractory_ms: float | None = _REFRACTORY,
    config: Path | None = _CONFIG,
    exact: str = _EXACT,
) -> None:
    """Run the host twin over a whole WAV and write its detections (the device's report format)."""
    from rich.progress import Progress

    from edgekws.stream import open_session, run_stream
    from edgekws.stream.score import write_json_atomic

    cfg = _stream_config(config, threshold, k_hops, smooth, refractory_ms)
    with Progress(transient=True) as bar:
        task = bar.add_task("streaming", total=1.0)
        dets = run_stream(wav, bundle, cfg, exact=_exact(exact),
                          progress=lambda done, total: bar.update(task, completed=done / total))
    write_json_atomic(out, _detections_doc(dets, cfg, open_session(bundle, cfg).params, str(wav), bundle))
    typer.echo(f"{len(dets)} detection(s) -> {out}")


@stream_app.command("device")
def device_cmd(
    wav: Path = typer.Argument(..., help="WAV stream (sent as int16 PCM)."),
    bundle: Path = _BUNDLE,
    port: str = typer.Option(..., "--port", help="Serial port or socket://HOST:PORT of the board/emulator."),
    out: Path = typer.Option(..., "--out", "-o", help="Detections JSON (with the device's cost counters)."),
    threshold: float | None = _THRESHOLD,
    k_hops: int | None = _K,
    smooth: int | None = _W,
    refractory_ms: float | None = _REFRACTORY,
    config: Path | None = _CONFIG,
    compare: bool = typer.Option(True, "--compare/--no-compare", help="Also run the host twin and compare."),
    report: Path | None = typer.Option(None, "--report", help="Merge the per-hop / per-classification cost "
                                       "into this report.json (e.g. BUNDLE/report.json) under device.<board>.stream "
                                       "(or .stream_incremental with --incremental)."),
    timeout: float = typer.Option(2.0, "--timeout", min=0.1,
                                  help="Seconds to wait for each reply before re-sending (an emulator on a busy "
                                  "machine may need more; the stream replay cache makes re-sends safe)."),
    incremental: bool = typer.Option(False, "--incremental/--full-window",
                                     help="Incremental inference on the device (a model valid in time: each "
                                     "classification computes only the new rows; outputs identical)."),
) -> None:
    """Stream a WAV through a device's streaming commands; write its detections and per-frame cost."""
    from rich.progress import Progress

    from edgekws.audio import float_to_pcm16, load_audio
    from edgekws.device.client import DeviceClient
    from edgekws.errors import DeviceError
    from edgekws.export.bundle import load_bundle
    from edgekws.export.codegen_c import require_device_frontend
    from edgekws.stream import open_session, run_stream
    from edgekws.stream.device import run_stream_on_device
    from edgekws.stream.score import write_json_atomic

    cfg = _stream_config(config, threshold, k_hops, smooth, refractory_ms)
    session = open_session(bundle, cfg)
    require_device_frontend(load_bundle(bundle).meta, "streaming on the device", bundle)
    if incremental:
        from edgekws.export.stream_plan import bundle_stream_plan, check_k_hops

        check_k_hops(bundle_stream_plan(bundle), session.params.k_hops)
    pcm = float_to_pcm16(load_audio(wav, session.frontend.sample_rate))
    with DeviceClient(port, timeout=timeout) as client, Progress(transient=True) as bar:
        hello = client.connect()
        task = bar.add_task("streaming to the device", total=1.0)
        dets, status = run_stream_on_device(client, pcm, session.params, session.labels,
                                            progress=lambda done, total: bar.update(task, completed=done / total),
                                            incremental=incremental)
    doc = _detections_doc(dets, cfg, session.params, str(wav), bundle)
    doc["device"] = {"board": hello.board, "counter_unit": hello.counter_unit, "status": status.to_dict()}
    write_json_atomic(out, doc)
    typer.echo(f"{len(dets)} detection(s) from {hello.board} ({'incremental' if incremental else 'full-window'} "
               f"inference); frontend max {status.fe_ticks_max} "
               f"{hello.counter_unit}/hop, inference max {status.nn_ticks_max}, classification max "
               f"{status.classify_ticks_max} -> {out}")
    identical = None
    if compare:
        host = run_stream(wav, bundle, cfg)
        identical = host == dets
        if not identical:
            raise DeviceError(f"device detections differ from the host twin's ({len(dets)} vs {len(host)})")
        typer.echo("identical to the host streaming mode")
    if report is not None:
        from edgekws.bench.report import merge_device_figures

        cost = _stream_cost(status, session, hello.counter_unit, len(dets), identical)
        merge_device_figures(report, hello.board, {stream_report_key(incremental): cost})
        typer.echo(f"stream cost merged into {report}")


def stream_report_key(incremental: bool) -> str:
    """Where a stream run's cost goes under report.json's device.<board>: one key per inference mode,
    so a report keeps (and shows side by side) the full-window and the incremental figures."""
    return "stream_incremental" if incremental else "stream"


def _stream_cost(status: Any, session: Any, unit: str, detections: int, identical: bool | None) -> dict[str, Any]:
    """Per-hop and per-classification cost with the real-time margin at 216 MHz.

    On the emulator the counter is instructions, so the milliseconds are an estimate at one
    instruction per cycle; on a board they are DWT cycles. The unit travels with the figures."""
    hop_ms = 1000.0 * session.frontend.hop_length / session.frontend.sample_rate
    per_class_ms = session.params.k_hops * hop_ms
    fe, nn, cls = int(status.fe_ticks_max), int(status.nn_ticks_max), int(status.classify_ticks_max)
    return {
        "counter_unit": unit,
        "mode": "incremental" if status.incremental else "full-window",
        "k_hops": int(session.params.k_hops),
        "frontend_per_hop_max": fe,
        "inference_max": nn,
        "classification_max": cls,
        "frontend_share_of_hop_at_216mhz": fe / 216e6 * 1e3 / hop_ms,
        "classification_ms_at_216mhz": cls / 216e6 * 1e3,
        "realtime_margin_at_216mhz": 1.0 - (cls / 216e6 * 1e3) / per_class_ms,
        "detections": detections,
        "identical_to_host": identical,
    }


@stream_app.command("score")
def score_cmd(
    detections: Path = typer.Argument(..., help="Detections JSON (edgekws listen --out / stream run)."),
    truth: Path = typer.Option(..., "--truth", help="truth.json written by 'stream generate'."),
    tolerance_ms: float = typer.Option(1000.0, "--tolerance-ms", help="Accepted latency after the word ends."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write the score as JSON here."),
) -> None:
    """Hit rate, false alarms per hour and detection delay against the ground truth."""
    from edgekws.stream import load_detections, load_truth, score_detections
    from edgekws.stream.score import write_json_atomic

    s = score_detections(load_detections(detections), load_truth(truth), tolerance_ms)
    delay = "n/a" if s.mean_delay_ms is None else f"mean {s.mean_delay_ms:.0f} ms, median {s.median_delay_ms:.0f} ms"
    typer.echo(f"hit rate {s.hit_rate:.3f} ({s.hits}/{s.num_keywords}), false alarms {s.false_alarms} "
               f"({s.false_alarms_per_hour:.1f}/h, {s.confusions} confusions), delay {delay}")
    if out is not None:
        write_json_atomic(out, s.to_dict())


def register(app: typer.Typer) -> None:
    """Add ``listen`` and the ``stream`` group to the root app."""
    app.command("listen")(listen_cmd)
    app.add_typer(stream_app, name="stream")
