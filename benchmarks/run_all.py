"""``make bench``: every benchmark of the project, one after the other, JSON under ``--out``.

Why subprocesses: each benchmark is a standalone script with its own command
line (and some set BLAS threads or build firmware); running them as
separate processes keeps one's failure or global state from affecting the next,
and the driver only reports which ones failed. On a 2-core machine they run
sequentially, never in parallel, so timings stay meaningful.

    .venv/bin/python benchmarks/run_all.py [--out build/bench] [--quick] [--only study kernels]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


@dataclass(frozen=True)
class Bench:
    """One benchmark script, the JSON it writes under --out and its extra flags (normal, quick)."""

    name: str
    script: str
    output: str
    args: tuple[str, ...] = ()
    quick_args: tuple[str, ...] = ()
    needs_env: str | None = None  # runs only when this environment variable is set


BENCHES = (
    Bench("frontend", "frontend.py", "frontend.json", quick_args=("--clips", "100")),
    Bench("frontend_device", "frontend_device.py", "frontend_device.json"),
    Bench("kernels", "kernels.py", "kernels.json", quick_args=("--quick",)),
    # CMSIS-NN from tools/fetch_cmsisnn.py's cache (or EDGEKWS_CMSISNN_DIR); without it the bench fails, saying so
    Bench("cmsisnn", "cmsisnn_compare.py", "cmsisnn_compare.json", args=("--bundle", str(REPO / "models" / "default"))),
    # full-window vs incremental streaming on the emulated device (models/stream, real speech from real_kws_dev)
    Bench("stream", "stream_cost.py", "stream_cost.json", quick_args=("--seconds", "6")),
    Bench("study", "pruning_study.py", "pruning_study.json", quick_args=("--quick",)),
    Bench("robustness", "robustness.py", "robustness.json",
          quick_args=("--fuzz-seconds", "2", "--soak-frames", "500", "--no-sweep")),
)


def command(bench: Bench, out: Path, quick: bool) -> list[str]:
    """The command line that runs ``bench`` writing its JSON to ``out``.

    The study writes a folder of outputs (JSON, Markdown, HTML, PNGs), so it takes the folder."""
    target = out if bench.name == "study" else out / bench.output
    return [sys.executable, str(HERE / bench.script), "--out", str(target), *bench.args,
            *(bench.quick_args if quick else ())]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=REPO / "build" / "bench")
    ap.add_argument("--quick", action="store_true", help="each benchmark's quick mode")
    ap.add_argument("--only", nargs="+", choices=[b.name for b in BENCHES], help="run only these")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    results = []
    for bench in BENCHES:
        if args.only and bench.name not in args.only:
            continue
        if bench.needs_env and not os.environ.get(bench.needs_env):
            print(f"== {bench.name}: skipped ({bench.needs_env} is not set)", flush=True)
            results.append({"name": bench.name, "status": "skipped", "reason": f"{bench.needs_env} not set"})
            continue
        cmd = command(bench, args.out, args.quick)
        print(f"== {bench.name}: {' '.join(cmd)}", flush=True)
        t0 = time.perf_counter()
        code = subprocess.run(cmd, cwd=REPO).returncode
        status = "ok" if code == 0 else "failed"
        results.append({"name": bench.name, "status": status, "exit_code": code,
                        "seconds": round(time.perf_counter() - t0, 1), "output": str(args.out / bench.output)})
        print(f"== {bench.name}: {status} in {results[-1]['seconds']} s", flush=True)
    summary = args.out / "run_all.json"
    tmp = summary.with_name(f".{summary.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps({"benchmarks": results}, indent=2) + "\n")
    os.replace(tmp, summary)
    failed = [r["name"] for r in results if r["status"] == "failed"]
    print(f"benchmarks: {len(results) - len(failed)} of {len(results)} ok"
          + (f"; failed: {', '.join(failed)}" if failed else "") + f" (summary {summary})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
