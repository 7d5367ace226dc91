#!/usr/bin/env python3
"""Write the fetched CC0 Sonic Pi one-shots into the FSDKaggle2018 layout tagging-ctc/sed-ctc read.

Why a tool: the real events come from a pinned cache (tools/fetch_sonic_pi.py), not from a
generator, so ``edgekws task ... data`` (which writes generated data) is not the place; this
writes the layout once, train/test split by source (edgekws.tasks.tagging_ctc.real), and the
tasks then run on it unchanged (``--data OUT``).

    python tools/real_events_layout.py --out DIR [--cache DIR] [--test-fraction 0.3] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "host"))

from edgekws.data import sonic_pi_samples  # noqa: E402
from edgekws.errors import EdgeKwsError  # noqa: E402
from edgekws.tasks.tagging_ctc.real import RealLayoutConfig, write_layout  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """One status line, or one ``error:`` line and exit 1."""
    ap = argparse.ArgumentParser(description="Write the real one-shots into the FSDKaggle2018 layout.")
    ap.add_argument("--out", type=Path, required=True, help="dataset folder to write")
    ap.add_argument("--cache", type=Path, default=None, help="the fetched samples (default: fetch_sonic_pi's)")
    ap.add_argument("--test-fraction", type=float, default=RealLayoutConfig.test_fraction)
    ap.add_argument("--seed", type=int, default=RealLayoutConfig.seed)
    args = ap.parse_args(argv)
    try:
        found = sonic_pi_samples.verify(args.cache)
        cfg = RealLayoutConfig(test_fraction=args.test_fraction, seed=args.seed)
        s = write_layout(args.out, found.files, cfg, licence=sonic_pi_samples.LICENCE_NOTE)
    except (EdgeKwsError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"real events: {args.out}: {len(s['classes'])} classes, {s['train_files']} train / "
          f"{s['test_files']} test source files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
