#!/usr/bin/env python3
"""A pcg-anomaly run's beta-VAEs as int8 TFLite (the project's quantiser) scored with TFLite Micro; one JSON.

Why a script: int8 is not a stage of the task (a VAE is not a classifier, so the KWS bundle ->
C -> firmware path does not take it); this measures what int8 does to each score's ROC AUC:

    python benchmarks/pcg_anomaly_int8.py --run build/pcga --out benchmarks/results/pcg_anomaly/int8.json
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
    ap.add_argument("--run", type=Path, required=True, help="run directory of 'edgekws task pcg-anomaly train'")
    ap.add_argument("--data", type=Path, default=None, help="dataset folder (default: the run's)")
    ap.add_argument("--out", type=Path, required=True, help="JSON to write")
    args = ap.parse_args(argv)

    from edgekws.errors import EdgeKwsError
    from edgekws.tasks.pcg_anomaly.quant import int8_scores
    from edgekws.tasks.runner import write_json

    t0 = time.time()
    try:
        res = int8_scores(args.run, args.data)
    except EdgeKwsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    res["seconds"] = round(time.time() - t0, 1)
    write_json(args.out, res)
    for name, r in res["betas"].items():
        print(name, " ".join(f"{s} {r['float'][s]:.3f}->{r['int8'][s]:.3f}" for s in r["float"]))
    print(json.dumps({"out": str(args.out)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
