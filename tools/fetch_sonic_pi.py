#!/usr/bin/env python3
"""Set-up step: fetch the CC0 Sonic Pi one-shots (Debian sonic-pi-samples 3.2.2~repack-8) into a cache.

Why: tagging-ctc and sed-ctc report a figure on real recordings beside the generated one; the
samples are third-party (CC0 per file, Freesound), so the .deb is pinned by sha256, fetched with
``apt-get download`` (nothing installed), only the 103 one-shots the tasks use and the copyright
file are extracted (pinned by one digest), and nothing is committed. Run by ``tools/setup.sh``.

    python tools/fetch_sonic_pi.py [--dir DIR] [--force] [--check] [--wheel PATH.deb]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "host"))

from edgekws.data.sonic_pi_samples import ENV_DIR, PACKAGE, VERSION, fetch, verify  # noqa: E402
from edgekws.fetch_cli import fetch_main  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Fetch or check; one ``error:`` line and exit 1 on any failure."""
    return fetch_main(argv, label="sonic pi samples", what=f"{PACKAGE} {VERSION}, CC0 one-shots",
                      description=f"Fetch the CC0 one-shots of the Debian package {PACKAGE} {VERSION}.",
                      env_dir=ENV_DIR, fetch=fetch, verify=verify)


if __name__ == "__main__":
    sys.exit(main())
