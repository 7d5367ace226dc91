"""CLI commands of the 'firmware' area: build, self-test in QEMU, memory, flash.

A thin layer over :mod:`edgekws.device`: every command calls one library
function and prints its result; errors are :class:`FirmwareError` /
:class:`DeviceError` lines.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from edgekws.errors import FirmwareError

firmware_app = typer.Typer(help="Build the firmware, run its self-test in QEMU, check memory.",
                           no_args_is_help=True)
console = Console()


def _memory_table(mem: dict[str, Any]) -> Table:
    table = Table(title=f"memory on {mem['board']}")
    for col in ("region", "kind", "used (B)", "size (B)", "used"):
        table.add_column(col, justify="right" if col != "region" else "left")
    for r in mem["regions"]:
        table.add_row(r["name"], r["kind"], str(r["used"]), str(r["size"]), f"{100.0 * r['used'] / r['size']:.1f}%")
    return table


def _with_progress(message: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    with console.status(message):
        return fn(*args, **kwargs)


@firmware_app.command("boards")
def boards_cmd() -> None:
    """List the boards the firmware builds for."""
    from edgekws.device.build import build_config

    for name, board in build_config().BOARDS.items():
        print(f"{name}\t{board.counter_unit}\t{board.description}")


@firmware_app.command("build")
def build_cmd(
    board: str = typer.Option("mps2_an500", "--board", "-b", help="mps2_an500 | nucleo_f767zi"),
    bundle: Path = typer.Option(Path("models/default"), "--bundle", help="model bundle or generated-C directory"),
    out: Path = typer.Option(None, "--out", "-o", help="build directory (default build/fw-<board>)"),
    selftest_only: bool = typer.Option(False, "--selftest-only", help="boot self-test image (exits QEMU)"),
    define: list[str] = typer.Option([], "--define", "-D", help="extra NAME=VALUE define"),
) -> None:
    """Build the firmware for BOARD with the model from BUNDLE; prints the ELF and its memory use."""
    from edgekws.device.build import build_firmware, check_board
    from edgekws.device.memory import elf_memory

    check_board(board)
    out = out or Path("build") / f"fw-{board}"
    elf = _with_progress(f"building firmware for {board}", build_firmware, board, bundle, out,
                         selftest_only=selftest_only, defines=tuple(define))
    print(f"elf: {elf}")
    if not check_board(board).regions:
        return  # the host program has no board memory map
    mem = elf_memory(elf, board)
    console.print(_memory_table(mem))
    print(f"flash_bytes={mem['flash_bytes']} ram_bytes={mem['ram_bytes']} arena_bytes={mem['arena_bytes']} "
          f"stack_bytes={mem['stack_bytes']}")


@firmware_app.command("memory")
def memory_cmd(
    elf: Path = typer.Argument(..., help="firmware ELF"),
    board: str = typer.Option("mps2_an500", "--board", "-b"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Flash and RAM use of an ELF, checked against the board."""
    from edgekws.device.memory import elf_memory

    mem = elf_memory(elf, board)
    if as_json:
        print(json.dumps({k: v for k, v in mem.items() if k != "sections"}, indent=2))
    else:
        console.print(_memory_table(mem))


def print_selftest(report: dict[str, Any]) -> None:
    """Per-layer table of counts, vectors and memory of a parsed self-test report."""
    unit = report.get("unit") or "count"
    total = sum(layer["count"] or 0 for layer in report["layers"]) or 1
    table = Table(title=f"{report.get('model', '?')} on {report.get('board', '?')}: per-layer {unit} (vector 0)")
    for col in ("#", "op", "backend", "name", unit, "share"):
        table.add_column(col, justify="right" if col in ("#", unit, "share") else "left")
    for layer in report["layers"]:
        count = layer["count"] or 0
        table.add_row(str(layer["index"]), layer["op"], layer["backend"], str(layer["name"]), f"{count:,}",
                      f"{100.0 * count / total:.1f}%")
    table.add_section()
    table.add_row("", "all layers", "", "", f"{sum(layer['count'] or 0 for layer in report['layers']):,}", "100%")
    console.print(table)
    for vec in report["vectors"]:
        if vec["status"] == "pass":
            extra = ""
        elif "layer" in vec:
            extra = (f" (first mismatching layer {vec['layer']} {vec.get('name')} {vec.get('op')} "
                     f"backend={vec.get('backend')} crc={vec.get('crc')} want={vec.get('want')})")
        elif "logit" in vec:
            extra = f" (logit {vec['logit']}: got {vec.get('got')}, want {vec.get('want')})"
        else:
            extra = f" (mismatched={vec.get('mismatched')}, first={vec.get('first')})"
        print(f"vector {vec['index']}: {vec['status']} {unit}={vec['count']}{extra}")
    step = report.get("stream_step")
    if step:  # a streaming-incremental step (models exported with EDGEKWS_STREAMABLE 1)
        st = Table(title=f"one streaming-incremental step ({step.get('rows')} new rows): per-layer {unit}")
        for col in ("#", "op", "backend", "name", unit):
            st.add_column(col, justify="right" if col in ("#", unit) else "left")
        for layer in report.get("stream_layers", []):
            st.add_row(str(layer["index"]), layer["op"], layer["backend"], str(layer["name"]),
                       f"{layer['count'] or 0:,}")
        console.print(st)
        print(f"stream step {step.get('result')}: {step.get('count')} {unit} per step (inference only), stream arena "
              f"{step.get('arena_bytes')} B vs full-window arena {step.get('full_arena_bytes')} B")
    mem = report.get("memory") or {}
    if mem:
        print(" ".join(f"{k}={v}" for k, v in mem.items()))
    if report.get("fault"):
        print(report["fault"])


@firmware_app.command("selftest")
def selftest_cmd(
    bundle: Path = typer.Option(Path("models/default"), "--bundle", help="model bundle or generated-C directory"),
    out: Path = typer.Option(Path("build/fw-selftest"), "--out", "-o", help="build directory"),
    timeout: float = typer.Option(300.0, "--timeout", help="seconds QEMU may run"),
    as_json: bool = typer.Option(False, "--json", help="print the parsed report as JSON"),
) -> None:
    """Build the self-test image for mps2_an500 and run it in QEMU: outputs vs TFLite Micro, instructions."""
    from edgekws.device.build import build_firmware
    from edgekws.device.emulator import record_selftest_in_report, run_selftest
    from edgekws.device.memory import elf_memory

    elf = _with_progress("building the mps2_an500 self-test image", build_firmware, "mps2_an500", bundle, out,
                         selftest_only=True)
    report = _with_progress("running the self-test in QEMU", run_selftest, elf, timeout=timeout)
    mem = elf_memory(elf, "mps2_an500")
    if (bundle / "bundle.json").is_file() and report["unit"] is not None:
        record_selftest_in_report(bundle, report)
    if as_json:
        slim = {k: v for k, v in report.items() if k != "output"}
        slim["elf_memory"] = {k: v for k, v in mem.items() if k != "sections"}
        print(json.dumps(slim, indent=2))
    else:
        print_selftest(report)
        console.print(_memory_table(mem))
        print(f"qemu: {shlex.join(report['qemu_command'])}")
    if not report["passed"]:
        raise FirmwareError(f"self-test failed in QEMU (exit {report['exit_code']}, result {report['result']}, "
                            f"{sum(v['status'] != 'pass' for v in report['vectors'])} vector(s) not identical)")
    print(f"selftest result pass: {len(report['vectors'])} vectors identical to TFLite Micro layer by layer "
          f"({report['n_layers']} layer CRCs, logits and outputs each), "
          f"{report['count']} {report['unit']} per inference")


@firmware_app.command("emulate")
def emulate_cmd(
    bundle: Path = typer.Option(Path("models/default"), "--bundle", help="model bundle or generated-C directory"),
    elf: Path = typer.Option(None, "--elf", help="an mps2_an500 ELF to run instead of building one"),
    out: Path = typer.Option(Path("build/fw-mps2_an500"), "--out", "-o", help="build directory"),
    port: int = typer.Option(0, "--port", help="TCP port of the UART (0: a free one)"),
) -> None:
    """Run the serial-server firmware in QEMU with its UART on TCP (for `tools/bench.py --port URL`)."""
    from edgekws.device.build import build_firmware
    from edgekws.device.emulator import Emulator, exit_cleanly_on_signals

    if elf is None:
        elf = _with_progress("building the mps2_an500 firmware", build_firmware, "mps2_an500", bundle, out)
    # SIGTERM / SIGHUP (kill, a closed terminal) unwind like Ctrl-C, so QEMU is stopped, never orphaned
    with exit_cleanly_on_signals(), Emulator(elf, serial="tcp", port=port or None) as emu:
        print(f"emulator UART: {emu.url}   (Ctrl-C, SIGTERM or SIGHUP stops QEMU)", flush=True)
        try:
            code = emu.wait()
        except KeyboardInterrupt:
            return
    if code != 0:
        raise FirmwareError(f"firmware exited with status {code} in QEMU")


@firmware_app.command("mlperf-bridge")
def mlperf_bridge_cmd(
    bundle: Path = typer.Option(Path("models/default/c"), "--bundle", help="model bundle or generated-C directory"),
    elf: Path = typer.Option(None, "--elf", help="an MLPerf-default mps2_an500 ELF built for the same --icount-shift"),
    out: Path = typer.Option(Path("build/fw-mlperf"), "--out", "-o", help="build directory"),
    icount_shift: int = typer.Option(None, "--icount-shift",
                                     help="virtual clock: 2^N ns per instruction, N = 8 (default) .. 10 (slower)"),
    link: Path = typer.Option(None, "--link", help="also make this symlink to the pty (a fixed path for the runner)"),
    runner_files: Path = typer.Option(None, "--runner-files",
                                      help="write the runner shim (USB discovery of the pty) and a devices file here"),
) -> None:
    """The emulated device as a serial port (a pty) for the unmodified MLPerf Tiny runner; prints its path."""
    from edgekws.device.mlperf_bridge import BridgeConfig, serve_mlperf_bridge

    cfg = BridgeConfig(bundle=bundle, build_dir=out, elf=elf, icount_shift=icount_shift, link=link,
                       runner_files=runner_files)
    serve_mlperf_bridge(cfg, note=lambda m: print(m, flush=True))


def flash_cmd(
    elf: Path = typer.Option(None, "--elf", help="firmware ELF to flash (default: build it from --bundle)"),
    bundle: Path = typer.Option(Path("models/default"), "--bundle", help="model bundle (used without --elf)"),
    board: str = typer.Option("nucleo_f767zi", "--board", "-b"),
    tool: str = typer.Option(None, "--tool", help="pyocd | st-flash (default: whichever is installed)"),
    probe: str = typer.Option(None, "--probe", help="probe serial number / UID"),
    dry_run: bool = typer.Option(False, "--dry-run", help="print the command, do not flash"),
) -> None:
    """Flash the firmware onto a board with pyOCD or st-flash (or use `pio run -t upload`)."""
    from edgekws.device.build import build_firmware, check_board
    from edgekws.device.flash import flash

    check_board(board)
    if elf is None:
        elf = _with_progress(f"building firmware for {board}", build_firmware, board, bundle,
                             Path("build") / f"fw-{board}")
    plan = flash(elf, board, tool=tool, probe=probe, dry_run=dry_run)
    print(("would run: " if dry_run else "flashed with: ") + shlex.join(plan.command))


def register(app: typer.Typer) -> None:
    """Add `edgekws firmware ...` and `edgekws flash`."""
    app.add_typer(firmware_app, name="firmware")
    app.command("flash")(flash_cmd)
