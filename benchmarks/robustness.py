#!/usr/bin/env python3
"""Robustness figures: fuzz executions and findings per target, soak survival, bad inputs handled.

Why: "the device survives anything on its line and the host never shows a
traceback" is only worth something with numbers behind it. This runs the same
three checks CI runs, longer, and writes one JSON:

* ``fuzz``:  tools/fuzz.py run (libFuzzer, ASan+UBSan), ``--fuzz-seconds`` per target;
* ``soak``:  tests/soak_driver.py against the emulated board (QEMU mps2-an500 over TCP),
             or the host-board server when QEMU/arm-gcc are missing or ``--soak-host``;
* ``sweep``: every case of tests/sweep_world.py through ``.venv/bin/edgekws``.

Usage: ``.venv/bin/python benchmarks/robustness.py --out build/bench/robustness.json``
(``--fuzz-seconds 0`` / ``--soak-frames 0`` / ``--no-sweep`` skip a part).

Verdict: a part that could not measure (fuzz targets that fail to build or link,
a soak or sweep that raised) is not "ok": the run prints one ``error:`` line per
such part and exits 1, as it does when a part found a problem (fuzz findings, a
wrong or missing answer after the soak, a sweep case not handled cleanly). The
JSON is written either way, with ``verdict`` and ``errors``/``problems`` in it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))


def run_fuzz(seconds: int, work: Path) -> dict[str, Any]:
    """Bounded libFuzzer pass over every target; per-target executions and findings."""
    out = work / "fuzz.json"
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "fuzz.py"), "run", "--time", str(seconds),
                           "--no-progress", "--out", str(out)], capture_output=True, text=True)
    if not out.is_file():
        # tools/fuzz.py prints "error: <first line>" then the compiler's output; keep both for the JSON
        lines = proc.stderr.strip().splitlines()
        first = next((ln for ln in lines if ln.startswith("error:")), lines[-1] if lines else "")
        return {"error": first.removeprefix("error: ") or f"tools/fuzz.py exited {proc.returncode}, no results",
                "exit_code": proc.returncode, "stderr_tail": "\n".join(lines[-20:])}
    data = json.loads(out.read_text())
    return {"seconds_per_target": seconds,
            "targets": {k: {"module": v["module"], "executions": v["executions"], "findings": v["findings"],
                            "exec_per_s": v["exec_per_s"], "coverage": v["coverage"], "artifacts": v["artifacts"]}
                        for k, v in data["targets"].items()},
            "total_executions": data["total_executions"], "total_findings": data["total_findings"]}


def _soak_checks(client: Any, hello: Any, stats: Any, x: Any, ref: Any) -> dict[str, Any]:
    import numpy as np

    client.drain(0.2)
    same_hello = client.hello() == hello
    correct = bool(np.array_equal(client.run(x).output, ref))
    return {**stats.as_dict(), "hello_unchanged_after": same_hello, "inference_bit_exact_after": correct,
            "stack_inside_budget": stats.stack_size == 0 or stats.stack_used_after <= stats.stack_size}


def run_soak(frames: int, work: Path, host_only: bool) -> dict[str, Any]:
    """Soak the emulated board (or the host-board server) and check it still answers correctly."""
    import soak_driver as sd
    from bench_fixtures import tiny_bundle
    from edgekws.bench.inputs import TflmReference, load_bench_data
    from edgekws.device.client import DeviceClient

    bundle = tiny_bundle(work)
    data = load_bench_data(bundle)
    x = data.x_int8[0]
    ref = TflmReference(data.tflite_path).output(0, x)
    emulate = not host_only and shutil.which("qemu-system-arm") and shutil.which("arm-none-eabi-gcc")
    if emulate:
        from edgekws.bench.emulate import ensure_firmware
        from edgekws.device.emulator import Emulator

        bundle_hash = json.loads((bundle / "bundle.json").read_text())["bundle_hash"]
        elf, _ = ensure_firmware(bundle, bundle_hash, work / "fw", note=lambda s: None)
        with Emulator(elf, serial="tcp") as emu, DeviceClient(emu.url, timeout=5.0, retries=1) as client:
            hello = client.connect()
            stats = sd.soak(client, frames, seed=8, reply_timeout=30.0)
            res = _soak_checks(client, hello, stats, x, ref)
            res["device_alive_after"] = emu.returncode is None
        return {"device": "QEMU mps2-an500 (Cortex-M7) over TCP", **res}
    from protocol_hostdev import HostDevice, build_host_device
    from sweep_world import EDGEKWS

    subprocess.run([str(EDGEKWS), "export", "c", str(bundle), str(work / "gen")], check=True, capture_output=True)
    exe = build_host_device(shutil.which("gcc") or "cc", work / "gen", work / "edgekws-host", sanitize=True)
    with HostDevice(exe) as dev, DeviceClient(dev.url, timeout=2.0, retries=1) as client:
        hello = client.connect()
        stats = sd.soak(client, frames, seed=8, reply_timeout=10.0)
        res = _soak_checks(client, hello, stats, x, ref)
        res["device_alive_after"] = dev.alive()
    return {"device": "host-board server (x86, ASan+UBSan) over TCP", **res}


def run_sweep(work: Path) -> dict[str, Any]:
    """Every sweep case as a subprocess of .venv/bin/edgekws; tried / handled cleanly, per area."""
    import sweep_world as sw
    from bench_fixtures import mfcc_bundle, tiny_bundle

    bundle = tiny_bundle(work)
    world = sw.make_world(work / "sweep_world", bundle)
    subs = {"w": str(world), "b": str(bundle), "m": str(mfcc_bundle(work))}
    rows = []
    with sw.devices(bundle, work / "sweep_devices", shutil.which("gcc") or "cc") as urls:
        subs.update(urls)
        for case in sw.cases():
            cwd = Path(tempfile.mkdtemp(dir=work))
            out = sw.run_subprocess(case, subs, cwd)
            rows.append({"case": case.id, "area": case.area, "expect": case.expect, "exit_code": out.exit_code,
                         "clean": out.clean, "problems": out.problems, "known_bug": case.bug})
    areas: dict[str, dict[str, int]] = {}
    for r in rows:
        a = areas.setdefault(r["area"], {"tried": 0, "handled": 0})
        a["tried"] += 1
        a["handled"] += int(r["clean"])
    return {"tried": len(rows), "handled_cleanly": sum(r["clean"] for r in rows), "by_area": areas,
            "not_clean": [r for r in rows if not r["clean"]], "cases": rows}


def run_part(fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one part; an exception becomes ``{"error": ...}`` (the part could not measure), not a traceback."""
    try:
        return fn()
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - any failure to measure is reported, not raised
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return {"error": f"{type(exc).__name__}: {first.removeprefix('error: ')}"}


def verdict(res: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(errors, problems): parts that could not measure, and parts whose measurement found a fault."""
    errors = [f"{part} could not measure: {res[part]['error']}" for part in ("fuzz", "soak", "sweep")
              if isinstance(res.get(part), dict) and "error" in res[part]]
    problems = []
    fuzz, soak, sweep = res.get("fuzz", {}), res.get("soak", {}), res.get("sweep", {})
    if fuzz.get("total_findings"):
        bad = [k for k, v in fuzz["targets"].items() if v["findings"]]
        problems.append(f"fuzz: {fuzz['total_findings']} finding(s) in {', '.join(bad)}")
    if "frames_sent" in soak:
        for key in ("device_alive_after", "hello_unchanged_after", "inference_bit_exact_after"):
            if soak.get(key) is False:
                problems.append(f"soak: {key} is false")
        if soak.get("wrong_answers"):
            problems.append(f"soak: {soak['wrong_answers']} wrong answer(s)")
    if "tried" in sweep:
        new = [r["case"] for r in sweep["not_clean"] if not r.get("known_bug")]
        if new:
            problems.append(f"sweep: {len(new)} case(s) not handled cleanly: {', '.join(new[:5])}")
    return errors, problems


def _print(res: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console()
    fuzz = res.get("fuzz", {})
    if "targets" in fuzz:
        t = Table(title=f"fuzz ({fuzz['seconds_per_target']} s per target, libFuzzer + ASan + UBSan)")
        for c in ("target", "executions", "exec/s", "findings"):
            t.add_column(c, justify="left" if c == "target" else "right")
        for name, r in fuzz["targets"].items():
            t.add_row(name, f"{r['executions']:,}", f"{r['exec_per_s']:,.0f}", str(r["findings"]))
        t.add_row("total", f"{fuzz['total_executions']:,}", "", str(fuzz["total_findings"]))
        con.print(t)
    soak = res.get("soak", {})
    if "frames_sent" in soak:
        t = Table(title=f"soak: {soak['device']}")
        t.add_column("figure")
        t.add_column("value", justify="right")
        for k in ("frames_sent", "valid_sent", "valid_answered", "wrong_answers", "nacks", "device_resets",
                  "probes_after_mlperf", "probes_answered", "stack_used_before", "stack_used_after", "stack_size",
                  "hello_unchanged_after", "inference_bit_exact_after", "seconds"):
            t.add_row(k, str(soak[k]))
        con.print(t)
    sweep = res.get("sweep", {})
    if "tried" in sweep:
        t = Table(title="CLI bad-input sweep")
        for c in ("area", "tried", "handled cleanly"):
            t.add_column(c)
        for area, a in sweep["by_area"].items():
            t.add_row(area, str(a["tried"]), str(a["handled"]))
        t.add_row("total", str(sweep["tried"]), str(sweep["handled_cleanly"]))
        con.print(t)
        for r in sweep["not_clean"]:
            con.print(f"  not clean: {r['case']}: {'; '.join(r['problems'])}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=REPO / "build" / "bench" / "robustness.json")
    ap.add_argument("--fuzz-seconds", type=int, default=10, help="per fuzz target (0: skip fuzzing)")
    ap.add_argument("--soak-frames", type=int, default=10_000, help="0: skip the soak")
    ap.add_argument("--soak-host", action="store_true", help="soak the host-board server instead of QEMU")
    ap.add_argument("--no-sweep", action="store_true")
    args = ap.parse_args(argv)
    res: dict[str, Any] = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.fuzz_seconds > 0:
            res["fuzz"] = run_part(lambda: run_fuzz(args.fuzz_seconds, work))
        if args.soak_frames > 0:
            res["soak"] = run_part(lambda: run_soak(args.soak_frames, work, args.soak_host))
        if not args.no_sweep:
            res["sweep"] = run_part(lambda: run_sweep(work))
    errors, problems = verdict(res)
    res["verdict"] = "could not measure" if errors else "problems found" if problems else "ok"
    res["errors"], res["problems"] = errors, problems
    _print(res)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=args.out.parent, prefix=f".{args.out.name}.")
    with os.fdopen(fd, "w") as f:
        json.dump(res, f, indent=2)
        f.write("\n")
    os.replace(tmp_name, args.out)
    print(f"wrote {args.out}")
    for line in errors:
        print(f"error: robustness: {line}", file=sys.stderr)
    for line in problems:
        print(f"error: robustness: {line}", file=sys.stderr)
    if errors or problems:
        return 1
    print("robustness: ok (every part measured, nothing found)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
