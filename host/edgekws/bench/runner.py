"""run_bench: one bench run from flags to report, with every fault turned into one line.

Faults and what happens:

* timeouts: the client re-sends (bounded retries), then DeviceTimeoutError;
* garbage on the line: skipped by the frame reader (resync at the next 0x00);
* a device reset mid-run: detected by its boot banner, the item is repeated
  (at most ``max_resets`` times per run);
* a vanished port / killed emulator: PortVanishedError.

Whatever stops the run, the results measured so far are already in the JSONL
file, and the summary of them is merged into ``--out`` marked ``"partial"``;
then the error propagates as an EdgeKwsError (one line, non-zero exit).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from edgekws.bench import stats
from edgekws.bench.config import BenchConfig
from edgekws.bench.inputs import BenchData, TflmReference, load_bench_data
from edgekws.bench.log import ResultLog
from edgekws.bench.modes import ResetBudget, run_accuracy, run_audio, run_latency
from edgekws.bench.report import merge_device_figures
from edgekws.device.client import DeviceClient
from edgekws.device.protocol import Hello
from edgekws.errors import DeviceError, EdgeKwsError


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def check_model(hello: Hello, data: BenchData) -> None:
    """The device must run this bundle's model, or no comparison means anything."""
    dev, want = hello.bundle_hash, data.bundle_hash
    if not dev or not (dev.startswith(want) or want.startswith(dev)):
        raise DeviceError(f"the device runs model {hello.model_name!r} (bundle {dev[:12] or '?'}), not "
                          f"{data.name!r} (bundle {want[:12]}); build/flash the firmware of this bundle")
    n_in = int(data.x_int8.shape[1])
    if hello.input_size != n_in:
        raise DeviceError(f"the device's input tensor has {hello.input_size} bytes, the bundle's test inputs {n_in}")


def summarize(log: ResultLog, mode: str, hello: Hello, data: BenchData,
              layers: list[dict[str, str]]) -> dict[str, Any]:
    """The figures of ``mode`` from what the log holds (complete or not)."""
    if mode == "latency":
        merged = []
        for i, row in enumerate(layers):  # the device's names, the bundle's MACs and sparsity
            extra = data.layers[i] if i < len(data.layers) else {}
            merged.append({**{k: extra.get(k) for k in ("macs", "sparsity")}, **row})
        return stats.summarize_latency(log.of_kind("latency"), hello.counter_unit, hello.clock_hz, merged)
    if mode == "accuracy":
        return stats.summarize_accuracy(log.of_kind("accuracy"), data.labels, layers)
    return stats.summarize_audio(log.of_kind("audio"))


def run_bench(cfg: BenchConfig, note: Callable[[str], None] = print, *,
              data: BenchData | None = None) -> dict[str, Any]:
    """Run ``cfg.mode`` against the device (or QEMU with ``cfg.emulate``); returns the figures.

    ``data`` replaces the bundle's own test items (``edgekws evaluate`` sends the clips of any
    dataset this way); by default they come from the bundle's testset.npz.
    Raises EdgeKwsError (one line) on any fault, after saving what was measured.
    """
    data = data if data is not None else load_bench_data(cfg.bundle)
    if cfg.mode == "audio":
        from edgekws.export.bundle import load_bundle
        from edgekws.export.codegen_c import require_device_frontend

        require_device_frontend(load_bundle(cfg.bundle).meta, "audio mode on the device", cfg.bundle)
    log = ResultLog(cfg.jsonl)
    figures: dict[str, Any] = {}
    hello: Hello | None = None
    layers: list[dict[str, str]] = []
    error: BaseException | None = None
    with ExitStack() as stack:
        fw_info: dict[str, Any] = {}
        try:
            if cfg.emulate:
                from edgekws.bench.emulate import emulated_device

                build_dir = cfg.build_dir or Path("build") / f"bench-{cfg.board}-{data.bundle_hash[:12]}"
                url, fw_info = stack.enter_context(emulated_device(cfg.bundle, data.bundle_hash, build_dir,
                                                                   cfg.board, note))
            else:
                url = str(cfg.port)
            client = DeviceClient(url, baud=cfg.baud, timeout=cfg.timeout, retries=cfg.retries,
                                  infer_timeout=cfg.infer_timeout)
            stack.callback(client.close)
            hello = client.connect()
            check_model(hello, data)
            log.open({"mode": cfg.mode, "bundle_hash": data.bundle_hash, "board": hello.board,
                      "counter_unit": hello.counter_unit, "firmware_version": hello.firmware_version,
                      "started": _now()}, cfg.resume)
            stack.callback(log.close)
            layers = [{"name": li.name, "op": li.op, "backend": li.backend} for li in client.layers()]
            mem = client.memory()
            figures["memory"] = {**dataclasses.asdict(mem), **{k: fw_info["memory"][k] for k in
                                                     ("flash_bytes", "flash_size", "ram_bytes", "ram_size")
                                                     if k in fw_info.get("memory", {})}}
            budget = ResetBudget(client, cfg.max_resets, note)
            indices = list(range(len(data)))[:cfg.limit] if cfg.limit else list(range(len(data)))
            if cfg.mode == "latency":
                if len(data) == 0:
                    raise DeviceError("the bundle's test split is empty: nothing to send")
                run_latency(client, data.x_int8[0], cfg.runs, cfg.warmup, log, budget, cfg.progress)
            elif cfg.mode == "accuracy":
                run_accuracy(client, data, TflmReference(data.tflite_path), indices, log, budget, cfg.progress)
            else:
                if not hello.has_frontend:
                    raise DeviceError("the firmware has no device frontend: audio mode needs one "
                                      "(build with the frontend; the device answered 'unsupported')")
                run_audio(client, data, TflmReference(data.tflite_path), indices, log, budget,
                          hello.audio_samples, cfg.progress)
            figures["resets_survived"] = budget.resets
            figures["garbage_frames"] = client.bad_frames
            figures["retries"] = client.retries_used
        except (EdgeKwsError, KeyboardInterrupt) as exc:
            error = exc
    merged = False
    if hello is not None:
        figures[cfg.mode] = summarize(log, cfg.mode, hello, data, layers)
        figures.update({
            "board": hello.board,
            "clock_hz": hello.clock_hz,
            "counter_unit": hello.counter_unit,
            "firmware": {"version": hello.firmware_version, "bundle_hash": hello.bundle_hash,
                         "backends": hello.backends, "protocol_version": hello.protocol_version,
                         "model_name": hello.model_name,
                         **({"elf_sha256": fw_info["elf_sha256"]} if fw_info.get("elf_sha256") else {})},
            "status": "partial" if error is not None else "complete",
            "updated": _now(),
        })
        if error is not None:
            figures["error"] = str(error) if not isinstance(error, KeyboardInterrupt) else "interrupted"
        measured = bool(log.of_kind(cfg.mode))
        if cfg.out is not None and (measured or error is None):
            merge_device_figures(cfg.out, hello.board, figures)
            merged = True
    if error is not None:
        if isinstance(error, KeyboardInterrupt):
            raise error
        saved = [str(p) for p in (cfg.jsonl, cfg.out if merged else None) if p is not None]
        if isinstance(error, DeviceError) and saved and hello is not None:
            hint = "; rerun with --resume" if cfg.jsonl is not None else ""
            raise DeviceError(f"{error} (partial results in {', '.join(saved)}{hint})") from error
        raise error
    return figures
