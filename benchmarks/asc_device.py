#!/usr/bin/env python3
"""An asc scene CNN on the emulated device: bundle -> (autotune) -> C -> firmware self-test in QEMU; one JSON.

Why a script: it chains four existing commands on one trained model of an ``edgekws task asc``
run and keeps the figures a reader needs together (int8 accuracy with TFLite Micro on the whole
test split, the ops, parameters and MACs, instructions per inference, flash and RAM):

    python benchmarks/asc_device.py --run build/asc --subset 100 --method baseline \
        --work build/asc-device --out benchmarks/results/asc/device.json [--autotune]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "host"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, required=True, help="run directory of 'edgekws task asc train'")
    ap.add_argument("--subset", type=int, default=100)
    ap.add_argument("--method", default="baseline")
    ap.add_argument("--work", type=Path, default=Path("build/asc-device"), help="bundle, C and firmware build go here")
    ap.add_argument("--out", type=Path, required=True, help="JSON to write")
    ap.add_argument("--autotune", action="store_true", help="pick the fastest bit-exact kernel per layer first")
    args = ap.parse_args(argv)

    from edgekws.device.build import build_firmware
    from edgekws.device.emulator import run_selftest
    from edgekws.device.memory import elf_memory
    from edgekws.export.codegen_c import export_c
    from edgekws.tasks.asc.export import export_bundle

    t0 = time.time()
    bundle_dir = args.work / f"{args.method}-{args.subset}"
    bundle = export_bundle(args.run, bundle_dir, args.subset, args.method)
    if args.autotune:
        from edgekws.cli import main as cli

        try:
            cli(["export", "autotune", str(bundle_dir)])
        except SystemExit as exc:
            if exc.code:
                raise
    c_dir = args.work / f"{args.method}-{args.subset}-c"
    export_c(bundle_dir, c_dir)
    elf = build_firmware("mps2_an500", c_dir, args.work / "fw", selftest_only=True)
    st = run_selftest(elf, timeout=600)
    mem = elf_memory(elf, "mps2_an500")
    report = json.loads((bundle_dir / "report.json").read_text())
    meta = json.loads((bundle_dir / "bundle.json").read_text())
    out = {
        "command": " ".join(["python benchmarks/asc_device.py", *(argv if argv is not None else sys.argv[1:])]),
        "bundle": bundle.meta["name"], "recipe": meta["recipe"],
        "accuracy": report["accuracy"], "ops": report["ops"], "firmware_unsupported_ops": report["firmware_unsupported_ops"],
        "size": report["size"], "backends": {row["name"]: row.get("backend") for row in meta["layers"]},
        "selftest": {"passed": st["passed"], "vectors": len(st["vectors"]), "n_layers": st["n_layers"],
                     "instructions_per_inference": st["count"], "unit": st["unit"],
                     "per_vector": [v.get("count") for v in st["vectors"]], "layers": st["layers"]},
        "memory": {k: v for k, v in mem.items() if k != "sections"},
        "seconds": round(time.time() - t0, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps({k: out[k] for k in ("bundle", "accuracy", "ops", "selftest")}, indent=2))
    return 0 if st["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
