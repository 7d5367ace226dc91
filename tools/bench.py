#!/usr/bin/env python3
"""Serial benchmark harness: ``tools/bench.py --port /dev/ttyACM0 --bundle models/default``.

A thin entry point over :mod:`edgekws.bench` (the same as ``edgekws bench``):
same flags, same one-line errors and non-zero exit on faults.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    from edgekws.cli import main
except ImportError:  # run from a checkout without the package installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "host"))
    from edgekws.cli import main

if __name__ == "__main__":
    main(["bench", *sys.argv[1:]])
