#!/usr/bin/env python3
"""The emulated device as a serial port for the MLPerf Tiny runner: ``tools/mlperf_bridge.py [--icount-shift N]``.

A thin entry point over :mod:`edgekws.device.mlperf_bridge` (the same as ``edgekws firmware mlperf-bridge``):
builds the MLPerf-default image if needed, runs it in QEMU, prints the pty path the runner opens.
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
    main(["firmware", "mlperf-bridge", *sys.argv[1:]])
